import Foundation
import Testing
import UpdraftCore

@testable import UpdraftImage

@Suite("Image JSON patch")
struct ImagePatchTests {
    static func image(status: Image.Status = .queued) -> Image {
        Image(
            id: "8a4cd1b2-3c5e-4f60-9b7a-1c2d3e4f5a6b", name: "cirros", status: status, visibility: .shared, owner: "p1",
            diskFormat: "qcow2", containerFormat: "bare", createdAt: Date(timeIntervalSince1970: 0), tags: ["a"],
            properties: ["hw_disk_bus": "virtio"])
    }

    static func patch(_ json: String) throws -> ImagePatch {
        try ImagePatch(parsing: try JSONValue.parse(Data(json.utf8)))
    }

    @Test("add, replace and remove change attributes, properties and tags")
    func applies() throws {
        let patch = try Self.patch(
            """
            [{"op": "replace", "path": "/name", "value": "cirros-2"}, {"op": "add", "path": "/kernel_id", "value": "k"},
             {"op": "remove", "path": "/hw_disk_bus"}, {"op": "add", "path": "/tags/-", "value": "b"},
             {"op": "replace", "path": "/min_ram", "value": 512}, {"op": "add", "path": "/a~1b", "value": "slash"}]
            """)
        let image = try patch.apply(to: Self.image(), isAdmin: false)
        #expect(image.name == "cirros-2")
        #expect(image.properties == ["kernel_id": "k", "a/b": "slash"])
        #expect(image.tags == ["a", "b"])
        #expect(image.minRAM == 512)
    }

    @Test("a body that is not a list of operations is 400")
    func malformed() throws {
        for body in [
            #"{"op": "add"}"#, #"[{"op": "move", "path": "/name"}]"#, #"[{"op": "add", "path": "name", "value": 1}]"#,
            #"[{"op": "add", "path": "/x"}]"#, #"[{"op": "add", "path": "/a/b", "value": "c"}]"#,
        ] {
            let error = #expect(throws: UpdraftError.self) { try Self.patch(body) }
            #expect(error?.code == .badRequest)
        }
    }

    @Test("read-only attributes are 403 and missing properties 409")
    func refusals() throws {
        func code(_ json: String, isAdmin: Bool = false, image: Image = Self.image()) throws -> UpdraftError.Code? {
            let patch = try Self.patch(json)
            do {
                _ = try patch.apply(to: image, isAdmin: isAdmin)
                return nil
            } catch {
                return error.code
            }
        }
        for attribute in ["id", "status", "checksum", "os_hash_value", "size", "created_at"] {
            #expect(try code(#"[{"op": "replace", "path": "/\#(attribute)", "value": "x"}]"#) == .forbidden)
        }
        #expect(try code(#"[{"op": "remove", "path": "/name"}]"#) == .forbidden)
        #expect(try code(#"[{"op": "replace", "path": "/nope", "value": "x"}]"#) == .conflict)
        #expect(try code(#"[{"op": "remove", "path": "/nope"}]"#) == .conflict)
        #expect(try code(#"[{"op": "add", "path": "/count", "value": 3}]"#) == .badRequest)
        #expect(try code(#"[{"op": "add", "path": "/os_glance_x", "value": "y"}]"#) == .forbidden)
        #expect(try code(#"[{"op": "replace", "path": "/visibility", "value": "public"}]"#) == .forbidden)
        #expect(try code(#"[{"op": "replace", "path": "/visibility", "value": "public"}]"#, isAdmin: true) == nil)
        #expect(try code(#"[{"op": "add", "path": "/updraft_featured", "value": "true"}]"#) == .forbidden)
        #expect(try code(#"[{"op": "add", "path": "/updraft_featured", "value": "true"}]"#, isAdmin: true) == nil)
        #expect(
            try code(#"[{"op": "replace", "path": "/disk_format", "value": "raw"}]"#, image: Self.image(status: .active))
                == .forbidden)
        #expect(try code(#"[{"op": "replace", "path": "/disk_format", "value": "floppy"}]"#) == .badRequest)
    }

    @Test("a create body splits core attributes from string properties")
    func draft() throws {
        let body = try JSONValue.parse(
            Data(
                #"{"name": "n", "disk_format": "qcow2", "container_format": "bare", "tags": ["x"], "ramdisk_id": "r", "min_disk": 1}"#
                    .utf8))
        let draft = try ImageDraft(parsing: body, isAdmin: false)
        #expect(draft.name == "n" && draft.diskFormat == "qcow2" && draft.tags == ["x"] && draft.minDisk == 1)
        #expect(draft.properties == ["ramdisk_id": "r"])
        #expect(draft.visibility == nil)
        #expect(throws: UpdraftError.self) {
            try ImageDraft(parsing: try JSONValue.parse(Data(#"{"status": "active"}"#.utf8)), isAdmin: true)
        }
    }
}

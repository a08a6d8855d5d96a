import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ServiceLifecycle
import Testing
import UpdraftBlockStorage

@testable import UpdraftServer

/// The Cinder v3 wire of transfers and uploads to images, in process, checked against the
/// attributes tempest's schemas allow (`additionalProperties: false`).
@Suite("Block storage API", .enabled(if: qemuImgAvailable))
struct BlockStorageAPITests {
    /// A client's calls as the admin of the admin project, at a volume microversion.
    struct Caller {
        let client: any TestClientProtocol
        let token: String
        let project: String

        func call(
            _ method: HTTPRequest.Method, _ path: String, version: String = "3.0", body: String? = nil
        ) async throws -> (HTTPResponse.Status, [String: Any]) {
            let headers: HTTPFields = [.authToken: token, .openStackAPIVersion: "volume " + version]
            return try await client.execute(
                uri: path.hasPrefix("/") ? path : "/volume/v3/\(project)/" + path, method: method, headers: headers,
                body: body.map { ByteBuffer(string: $0) }
            ) { response in
                let object = response.body.readableBytes == 0 ? [:] : try IdentityAPITests.json(response.body)
                return (response.status, object)
            }
        }

        /// Polls `path` until `key`'s `status` is `wanted`.
        func wait(_ path: String, _ key: String, for wanted: String) async throws -> [String: Any] {
            for _ in 0..<400 {
                let (_, body) = try await call(.get, path)
                if let item = body[key] as? [String: Any], item["status"] as? String == wanted { return item }
                try await Task.sleep(for: .milliseconds(25))
            }
            return try await call(.get, path).1[key] as? [String: Any] ?? [:]
        }
    }

    static func withCaller(_ body: @Sendable (Caller) async throws -> Void) async throws {
        try await IdentityAPITests.withParts(running: { $0 is BlockStorageService }) { client, password, _, _ in
            let (token, project) = try await client.execute(
                uri: "/identity/v3/auth/tokens", method: .post, body: IdentityAPITests.passwordAuth(password)
            ) { response in
                let token = try #require(response.headers[.subjectToken])
                let scope = try #require(try IdentityAPITests.json(response.body)["token"] as? [String: Any])
                let project = try #require((scope["project"] as? [String: Any])?["id"] as? String)
                return (token, project)
            }
            try await body(Caller(client: client, token: token, project: project))
        }
    }

    static func keys(_ object: Any?) -> Set<String> {
        Set((object as? [String: Any])?.keys.map { $0 } ?? [])
    }

    static func volume(_ caller: Caller) async throws -> String {
        let (status, body) = try await caller.call(.post, "volumes", body: #"{"volume": {"size": 1, "name": "v"}}"#)
        #expect(status == .accepted)
        let id = try #require((body["volume"] as? [String: Any])?["id"] as? String)
        #expect(try await caller.wait("volumes/\(id)", "volume", for: "available")["status"] as? String == "available")
        return id
    }

    @Test("transfers answer with tempest's attributes per microversion, on both paths")
    func transfers() async throws {
        try await Self.withCaller { caller in
            let volume = try await Self.volume(caller)
            let create = #"{"transfer": {"volume_id": "\#(volume)", "name": "t", "no_snapshots": true}}"#
            #expect(try await caller.call(.post, "volume-transfers", version: "3.54", body: create).0 == .notFound)

            let (status, created) = try await caller.call(.post, "volume-transfers", version: "3.55", body: create)
            #expect(status == .accepted)
            let transfer = try #require(created["transfer"] as? [String: Any])
            #expect(
                Self.keys(transfer) == ["auth_key", "links", "created_at", "volume_id", "id", "name", "no_snapshots"])
            #expect(transfer["no_snapshots"] as? Bool == true)
            let id = try #require(transfer["id"] as? String)
            let key = try #require(transfer["auth_key"] as? String)

            let summary = try await caller.call(.get, "volume-transfers", version: "3.55").1["transfers"] as? [Any]
            #expect(summary?.count == 1 && Self.keys(summary?.first) == ["volume_id", "id", "links", "name"])
            let detail = try await caller.call(.get, "volume-transfers/detail", version: "3.57").1["transfers"] as? [Any]
            #expect(
                Self.keys(detail?.first) == [
                    "links", "created_at", "volume_id", "id", "name", "no_snapshots", "destination_project_id",
                    "source_project_id", "accepted",
                ])
            let (shown, old) = try await caller.call(.get, "os-volume-transfer/\(id)")
            #expect(shown == .ok && Self.keys(old["transfer"]) == ["links", "created_at", "volume_id", "id", "name"])

            let wrong = #"{"accept": {"auth_key": "0000000000000000"}}"#
            let (refused, fault) = try await caller.call(.post, "volume-transfers/\(id)/accept", version: "3.55", body: wrong)
            #expect(refused == .badRequest && fault["badRequest"] != nil)
            let right = #"{"accept": {"auth_key": "\#(key)"}}"#
            let (accepted, body) = try await caller.call(.post, "os-volume-transfer/\(id)/accept", body: right)
            #expect(accepted == .accepted && Self.keys(body["transfer"]) == ["links", "volume_id", "id", "name"])
            #expect(try await caller.call(.get, "volumes/\(volume)").1["volume"].map(Self.status) == "available")
            #expect(try await caller.call(.get, "os-volume-transfer/\(id)").0 == .notFound)
        }
    }

    static func status(_ object: Any) -> String? {
        (object as? [String: Any])?["status"] as? String
    }

    @Test("an upload to an image answers 202 with the volume and the queued image, which becomes active")
    func upload() async throws {
        try await Self.withCaller { caller in
            let volume = try await Self.volume(caller)
            let request = #"""
                {"os-volume_upload_image": {"image_name": "img", "force": false, "disk_format": "qcow2",
                 "container_format": "bare", "visibility": "private", "protected": false}}
                """#
            let (status, body) = try await caller.call(.post, "volumes/\(volume)/action", version: "3.1", body: request)
            #expect(status == .accepted)
            let upload = try #require(body["os-volume_upload_image"] as? [String: Any])
            #expect(
                Self.keys(upload) == [
                    "id", "updated_at", "status", "display_description", "size", "volume_type", "image_id",
                    "container_format", "disk_format", "image_name", "visibility", "protected",
                ])
            #expect(upload["status"] as? String == "uploading" && upload["disk_format"] as? String == "qcow2")
            #expect((upload["volume_type"] as? [String: Any])?["name"] as? String == "__DEFAULT__")
            let image = try #require(upload["image_id"] as? String)
            var shown: [String: Any] = [:]
            for _ in 0..<400 {
                shown = try await caller.call(.get, "/image/v2/images/\(image)").1
                if shown["status"] as? String == "active" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(shown["status"] as? String == "active" && shown["disk_format"] as? String == "qcow2")
            #expect(try await caller.wait("volumes/\(volume)", "volume", for: "available")["status"] as? String == "available")

            let bad = #"{"os-volume_upload_image": {"image_name": "x", "disk_format": "vhd"}}"#
            #expect(try await caller.call(.post, "volumes/\(volume)/action", body: bad).0 == .badRequest)
        }
    }
}

extension BlockStorageAPITests {
    @Test("volume lists page in SQL in the order the list in memory has, for every sort, limit and marker")
    func pages() async throws {
        try await Self.withCaller { caller in
            let names = ["b", "a", "c", "a", "d"]
            for (index, name) in names.enumerated() {
                let (status, body) = try await caller.call(
                    .post, "volumes", body: #"{"volume": {"size": \#(index % 2 + 1), "name": "\#(name)"}}"#)
                #expect(status == .accepted)
                // Available before any list, so no status changes between the pages compared.
                let id = try #require((body["volume"] as? [String: Any])?["id"] as? String)
                _ = try await caller.wait("volumes/\(id)", "volume", for: "available")
            }
            // A filter SQL does not know pages in memory (it ignores the key): the reference order.
            for sort in ["name:asc", "size:desc,name:asc", "created_at:desc", "status:asc,size:asc"] {
                let (_, all) = try await caller.call(.get, "volumes/detail?sort=\(sort)&unknown=x")
                let expected = (all["volumes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                #expect(expected.count == names.count, "\(sort)")
                var seen: [String] = []
                var marker: String?
                while seen.count < expected.count + 1 {
                    let path = "volumes/detail?sort=\(sort)&limit=2" + (marker.map { "&marker=\($0)" } ?? "")
                    let (status, page) = try await caller.call(.get, path)
                    #expect(status == .ok)
                    let ids = (page["volumes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                    seen += ids
                    // A full page links the next one; the last, short page does not.
                    #expect((page["volumes_links"] != nil) == (ids.count == 2), "\(sort) \(path)")
                    guard ids.count == 2, let last = ids.last else { break }
                    marker = last
                }
                #expect(seen == expected, "\(sort)")
            }
            let (status, _) = try await caller.call(.get, "volumes?marker=nope")
            #expect(status == .notFound)
        }
    }
}

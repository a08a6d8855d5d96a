import Foundation
import Logging
import NIOCore
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftObjectStorage

/// The object storage service on a fresh SQLite store and a local blob directory.
@Suite("Object storage service")
struct ObjectStorageServiceTests {
    static let owner = ObjectStorageService.Caller.user(
        AuthContext(
            userID: "u", userDomainID: "default", scope: .project(id: "p", domainID: "default"), roles: ["member", "reader"],
            auditID: "a"))

    static func withService(_ body: @Sendable (ObjectStorageService, String) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "updraft-objects-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await Database.open(.sqlite(path: directory + "/db.sqlite"), logger: Logger(label: "test"))
        do {
            try await Migrator.apply(ObjectStorageService.migrations, to: database)
            let blobs = LocalBlobStore(directory: directory + "/objects")
            try blobs.prepare()
            let service = ObjectStorageService(database: database, blobs: blobs, logger: Logger(label: "test"))
            try await service.start()
            try await body(service, directory)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    static func put(_ service: ObjectStorageService, _ container: String, _ name: String, _ text: String) async throws {
        _ = try await service.putObject(
            "p", container, name, .init(), bytes: BufferSequence(ByteBuffer(string: text)), caller: owner)
    }

    /// What Swift lists for `query` over `names`, computed the slow way.
    static func reference(_ names: [String], _ query: ListingQuery, limit: Int) -> [String] {
        let sorted = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let prefix = query.prefix ?? ""
        var lines: [String] = []
        var seen: Set<String> = []
        let ordered = query.reverse ? sorted.reversed() : sorted
        for name in ordered where name.hasPrefix(prefix) {
            if let marker = query.marker {
                if query.reverse
                    ? !name.utf8.lexicographicallyPrecedes(marker.utf8) : !marker.utf8.lexicographicallyPrecedes(name.utf8)
                {
                    continue
                }
            }
            if let end = query.endMarker {
                if query.reverse ? !end.utf8.lexicographicallyPrecedes(name.utf8) : !name.utf8.lexicographicallyPrecedes(end.utf8)
                {
                    continue
                }
            }
            var line = name
            if let delimiter = query.delimiter, let range = name.dropFirst(prefix.count).range(of: delimiter) {
                line = prefix + name.dropFirst(prefix.count)[..<range.upperBound]
            }
            // A common prefix at or before the marker ended the previous page.
            if !query.reverse, let marker = query.marker, !marker.utf8.lexicographicallyPrecedes(line.utf8) { continue }
            if seen.insert(line).inserted { lines.append(line) }
            if lines.count == limit { break }
        }
        return lines
    }

    @Test("listings match Swift's rules for prefix, delimiter, markers, reverse and limit")
    func listings() async throws {
        try await Self.withService { service, _ in
            _ = try await service.putContainer("p", "c", .init(), caller: Self.owner)
            let names = [
                "a", "a/", "a/b", "a/b/c", "a/c", "a0", "ab", "b/x", "b/y/z", "b/y/zz", "c d", "é/1", "é/2", "z",
                "photos/2024/jan.jpg", "photos/2024/feb.jpg", "photos/2025/mar.jpg", "photos/index",
            ]
            for name in names { try await Self.put(service, "c", name, name) }
            var queries: [ListingQuery] = []
            for prefix in [nil, "a", "a/", "photos/", "photos/2024/", "é", "q"] {
                for delimiter in [nil, "/"] {
                    for marker in [nil, "a/", "a/b", "b", "photos/2024/"] {
                        for endMarker in [nil, "photos/2025", "z"] {
                            for reverse in [false, true] {
                                queries.append(
                                    ListingQuery(
                                        prefix: prefix, delimiter: delimiter, marker: marker, endMarker: endMarker,
                                        reverse: reverse))
                            }
                        }
                    }
                }
            }
            for var query in queries {
                for limit in [2, 10_000] {
                    query.limit = limit
                    let (_, entries) = try await service.listObjects("p", "c", query, caller: Self.owner)
                    #expect(entries.map(\.name) == Self.reference(names, query, limit: limit), "\(query)")
                }
            }
        }
    }

    @Test("a write replaces the object, keeps the container's totals, and removes the old blob")
    func replaceAndTotals() async throws {
        try await Self.withService { service, directory in
            _ = try await service.putContainer("p", "c", .init(), caller: Self.owner)
            try await Self.put(service, "c", "o", "first version")
            try await Self.put(service, "c", "o", "v2")
            try await Self.put(service, "c", "other", "12345")
            let container = try await service.container("p", "c", caller: Self.owner)
            #expect(container.objectCount == 2)
            #expect(container.bytesUsed == 7)
            let (_, object) = try await service.object("p", "c", "o", caller: Self.owner)
            #expect(object.etag == "1b267619c4812cc46ee281747884ca50" && object.size == 2)
            try await service.deleteObject("p", "c", "other", caller: Self.owner)
            try await service.reap()
            let blobs = try FileManager.default.subpathsOfDirectory(atPath: directory + "/objects").filter {
                !$0.hasPrefix("staging") && $0.count > 3
            }
            #expect(blobs.count == 1)
            let account = try await service.account("p", caller: Self.owner)
            #expect(account.objectCount == 1 && account.bytesUsed == 2 && account.containerCount == 1)
            await #expect(throws: UpdraftError.self) { try await service.deleteContainer("p", "c", caller: Self.owner) }
        }
    }

    @Test("a staged blob is published after a restart when its record committed, removed when not")
    func recovery() async throws {
        try await Self.withService { service, directory in
            _ = try await service.putContainer("p", "c", .init(), caller: Self.owner)
            let staging = directory + "/objects/staging/"
            // A blob staged and never committed, as a crash before the commit leaves it.
            let orphan = try await service.blobs.stage(BufferSequence(ByteBuffer(string: "orphan")), limit: 100)
            // A committed object whose blob was not yet published: move it back to staging.
            try await Self.put(service, "c", "kept", "kept bytes")
            let (_, kept) = try await service.object("p", "c", "kept", caller: Self.owner)
            let blob = try #require(kept.blob)
            let published = directory + "/objects/" + blob.prefix(2) + "/" + blob
            try FileManager.default.moveItem(atPath: published, toPath: staging + blob)
            try await service.start()
            #expect(!FileManager.default.fileExists(atPath: staging + orphan.id))
            #expect(FileManager.default.fileExists(atPath: published))
            let body = try await service.body("p", of: kept, caller: Self.owner)
            var bytes = ByteBuffer()
            for try await var chunk in body.chunks { bytes.writeBuffer(&chunk) }
            #expect(String(buffer: bytes) == "kept bytes")
        }
    }

    @Test("an ETag that does not match the bytes is refused and leaves nothing")
    func etagMismatch() async throws {
        try await Self.withService { service, directory in
            _ = try await service.putContainer("p", "c", .init(), caller: Self.owner)
            var write = ObjectStorageService.ObjectWrite()
            write.expectedETag = "00000000000000000000000000000000"
            await #expect(throws: UpdraftError.self) {
                _ = try await service.putObject(
                    "p", "c", "o", write, bytes: BufferSequence(ByteBuffer(string: "data")), caller: Self.owner)
            }
            let (_, entries) = try await service.listObjects("p", "c", .init(), caller: Self.owner)
            #expect(entries.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/objects/staging").isEmpty)
        }
    }

    @Test("access: readers read, other projects and anonymous callers are refused unless an ACL lets them")
    func access() async throws {
        try await Self.withService { service, _ in
            _ = try await service.putContainer("p", "c", .init(), caller: Self.owner)
            try await Self.put(service, "c", "o", "x")
            let reader = ObjectStorageService.Caller.user(
                AuthContext(
                    userID: "r", userDomainID: "default", scope: .project(id: "p", domainID: "default"), roles: ["reader"],
                    auditID: "a"))
            let stranger = ObjectStorageService.Caller.user(
                AuthContext(
                    userID: "s", userDomainID: "default", scope: .project(id: "q", domainID: "default"),
                    roles: ["member", "reader"], auditID: "a"))
            _ = try await service.object("p", "c", "o", caller: reader)
            await #expect(throws: UpdraftError.self) { try await Self.put(service, "c", "o2", "x", as: reader) }
            await #expect(throws: UpdraftError.self) { _ = try await service.object("p", "c", "o", caller: stranger) }
            await #expect(throws: UpdraftError.self) { _ = try await service.object("p", "c", "o", caller: .anonymous) }
            var change = ObjectStorageService.ContainerChange()
            change.readACL = ".r:*,q:s"
            change.writeACL = "q:s"
            try await service.updateContainer("p", "c", change, caller: Self.owner)
            _ = try await service.object("p", "c", "o", caller: stranger)
            _ = try await service.object("p", "c", "o", caller: .anonymous)
            try await Self.put(service, "c", "from-stranger", "x", as: stranger)
            // Listing needs .rlistings for anonymous callers.
            await #expect(throws: UpdraftError.self) { _ = try await service.listObjects("p", "c", .init(), caller: .anonymous) }
        }
    }

    @Test(
        "FormPOST: a form signed with the account's key stores its files under the prefix; expired or badly signed forms store nothing"
    )
    func formPost() async throws {
        try await Self.withService { service, _ in
            _ = try await service.putContainer("p", "c", .init(), caller: Self.owner)
            var key = MetadataChange()
            key.assigned["temp-url-key"] = "secret"
            try await service.updateAccount("p", key, caller: Self.owner)
            func form(expires: Int, key: String, files: Int = 1, maxSize: Int = 100) -> String {
                let path = "/v1/AUTH_p/c/up-"
                let message = "\(path)\n\n\(maxSize)\n\(files)\n\(expires)"
                let signature = ObjectStorageService.hmacs(message, key: key, digest: "sha256")[0]
                let fields = [
                    "redirect": "", "max_file_size": "\(maxSize)", "max_file_count": "\(files)",
                    "expires": "\(expires)", "signature": signature,
                ]
                var body = ""
                for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
                    body += "--b\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
                }
                for (name, text) in [("one.txt", "hello"), ("two.txt", "world")] {
                    body += "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\(name)\"\r\n"
                    body += "Content-Type: text/x-test\r\n\r\n\(text)\r\n"
                }
                return body + "--b--\r\n"
            }
            func post(_ text: String) async throws -> ObjectStorageService.FormPostResult {
                try await service.formPost(
                    "p", "c", prefix: "up-", paths: ["/v1/AUTH_p/c/up-"],
                    form: FormDataStream(BufferSequence(ByteBuffer(string: text)), boundary: "b"))
            }
            let now = Int(Date.now.timeIntervalSince1970)
            let one = try await post(form(expires: now + 60, key: "secret"))
            #expect(one.status == 400 && one.message == "max file count exceeded")
            #expect(one.created.map(\.name) == ["up-one.txt"])
            #expect(one.created.first?.contentType == "text/x-test")
            let both = try await post(form(expires: now + 60, key: "secret", files: 2))
            #expect(both.status == 201 && both.created.map(\.name) == ["up-one.txt", "up-two.txt"])
            for (text, message) in [
                (form(expires: now - 1, key: "secret"), "FormPost: Form Expired"),
                (form(expires: now + 60, key: "wrong"), "FormPost: Invalid Signature"),
                (form(expires: now + 60, key: "secret", maxSize: 3), "FormPost: max_file_size exceeded"),
            ] {
                _ = try? await service.deleteObject("p", "c", "up-one.txt", caller: Self.owner)
                let error = await #expect(throws: UpdraftError.self) { _ = try await post(text) }
                #expect(error?.message == message)
                let names = try await service.listObjects("p", "c", .init(), caller: Self.owner).1.map(\.name)
                #expect(names == ["up-two.txt"])
            }
        }
    }

    static func put(
        _ service: ObjectStorageService, _ container: String, _ name: String, _ text: String,
        as caller: ObjectStorageService.Caller
    ) async throws {
        _ = try await service.putObject(
            "p", container, name, .init(), bytes: BufferSequence(ByteBuffer(string: text)), caller: caller)
    }
}

import Foundation
import Logging
import SQLKit
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftImage

/// The service on its own (what compute calls), on a temp-file SQLite store.
@Suite("Image service")
struct ImageServiceTests {
    static let admin = AuthContext(
        userID: "u", userDomainID: "default", scope: .project(id: "admin-project", domainID: "default"),
        roles: ["admin", "member", "reader"], auditID: "a")

    static func withService(_ body: @Sendable (ImageService, String, Database) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "updraft-images-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try await Database.open(.sqlite(path: directory + "/db.sqlite"), logger: Logger(label: "test"))
        do {
            try await Migrator.apply(ImageSchema.migrations, to: database)
            let service = ImageService(
                database: database, directory: directory + "/images", adminProjectID: "admin-project",
                logger: Logger(label: "test"))
            try await service.start()
            try await body(service, directory, database)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    @Test("a restart puts an interrupted upload back to queued and removes its partial file")
    func reconcile() async throws {
        try await Self.withService { service, _, database in
            let image = try await service.create(
                ImageDraft(name: "x", diskFormat: "raw", containerFormat: "bare"), caller: Self.admin)
            try await database.withConnection { db in
                try await db.raw("UPDATE images SET status = 'saving' WHERE id = \(bind: image.id)").run()
            }
            let partial = service.directory + "/\(image.id).abc.partial"
            #expect(FileManager.default.createFile(atPath: partial, contents: Data("half".utf8)))
            try await service.start()
            #expect(try await service.image(image.id, caller: Self.admin).status == .queued)
            #expect(!FileManager.default.fileExists(atPath: partial))
        }
    }

    @Test("importFile moves a local file in and marks the image active with its checksums")
    func importFile() async throws {
        try await Self.withService { service, directory, _ in
            let source = directory + "/snapshot.raw"
            #expect(FileManager.default.createFile(atPath: source, contents: Data(repeating: 7, count: 4096)))
            let draft = ImageDraft(
                name: "snap", diskFormat: "raw", containerFormat: "bare", visibility: .private,
                properties: ["image_type": "snapshot"])
            let queued = try await service.create(draft, caller: Self.admin)
            let image = try await service.importFile(queued.id, from: source)
            #expect(image.status == .active && image.size == 4096 && image.virtualSize == 4096)
            #expect(image.checksum?.count == 32 && image.hashAlgorithm == "sha512")
            #expect(!FileManager.default.fileExists(atPath: source))
            #expect(service.dataPath(of: image) == service.directory + "/" + image.id)
            // A storage allocation counts it (and a queued image, with no data yet, as nothing).
            #expect(try await service.bytesOwned(by: "admin-project") == 4096)
            #expect(try await service.bytesOwned(by: "another-project") == 0)
            try await service.kill(image.id)
            let killed = try await service.image(image.id, caller: Self.admin)
            #expect(killed.status == .killed && service.dataPath(of: killed) == nil)
        }
    }

    @Test("registering the same built-in image twice returns the first, public and featured")
    func builtIn() async throws {
        try await Self.withService { service, directory, _ in
            let file = directory + "/tiny.qcow2"
            #expect(FileManager.default.createFile(atPath: file, contents: Data(repeating: 1, count: 10_000)))
            let first = try await service.registerBuiltIn(
                name: "tiny", file: file, diskFormat: "raw", containerFormat: "bare", properties: ["os_distro": "alpine"],
                description: "A tiny guest")
            let second = try await service.registerBuiltIn(
                name: "tiny", file: file, diskFormat: "raw", containerFormat: "bare", properties: [:], description: "again")
            #expect(first.id == second.id)
            #expect(first.visibility == .public && first.isFeatured && first.owner == "admin-project")
            #expect(first.properties["description"] == "A tiny guest" && first.properties["os_distro"] == "alpine")
            #expect(FileManager.default.fileExists(atPath: file))
            let other = AuthContext(
                userID: "v", userDomainID: "default", scope: .project(id: "p2", domainID: "default"),
                roles: ["member", "reader"], auditID: "b")
            let listed = try await service.list(ImageListQuery(), caller: other)
            #expect(listed.images.map(\.id) == [first.id])
        }
    }
}

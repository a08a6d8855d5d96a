import Foundation
import SQLKit
import Synchronization
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftBlockStorage

private let qemuIOAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-io")

/// Uploads of volumes to images, on the block-storage service with real qcow2 files, its job
/// loop running, and an image service that keeps its images in memory.
@Suite("Block storage uploads to images", .enabled(if: qemuImgAvailable && qemuIOAvailable))
struct BlockStorageUploadTests {
    typealias Harness = BlockStorageServiceTests
    static let member = Harness.member

    static func code(of body: () async throws -> Void) async -> UpdraftError.Code? {
        await BlockStorageTransferTests.code(of: body)
    }

    static func run(_ program: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func waitForStatus(_ service: BlockStorageService, _ id: String, not status: VolumeStatus) async throws -> Volume {
        for _ in 0..<400 where try await service.volume(id, caller: member).status == status {
            try await Task.sleep(for: .milliseconds(25))
        }
        return try await service.volume(id, caller: member)
    }

    @Test("an upload reserves a queued image, converts the volume into it and gives the volume its status back")
    func upload() async throws {
        let images = FakeVolumeImages()
        try await Harness.withService(images: images) { service, directory in
            let volume = try await Harness.create(service)
            let file = directory + "/volumes/\(volume.id).qcow2"
            #expect(try Self.run("/usr/bin/qemu-io", ["-f", "qcow2", "-c", "write -P 0xab 4096 1M", file]) == 0)
            _ = try await service.changeImageMetadata(of: volume.id, caller: Self.member) { _ in
                ["hw_disk_bus": "scsi", "os_distro": "debian", "image_id": "old", "min_disk": "1", "os_glance_x": "y"]
            }
            var request = VolumeUploadRequest(imageName: "img")
            request.diskFormat = "qcow2"
            let upload = try await service.uploadToImage(volume.id, request, caller: Self.member)
            #expect(upload.volume.status == .uploading)
            #expect(upload.type?.name == "__DEFAULT__")
            let reserved = try #require(images.record(upload.imageID))
            #expect(reserved.owner == "p" && reserved.reservation.name == "img" && reserved.reservation.minDisk == 1)
            #expect(reserved.reservation.properties == ["hw_disk_bus": "scsi", "os_distro": "debian"])

            let after = try await Self.waitForStatus(service, volume.id, not: .uploading)
            #expect(after.status == .available)
            let image = try #require(images.record(upload.imageID)?.file)
            #expect(try Self.run("/usr/bin/qemu-img", ["compare", "-f", "qcow2", "-F", "qcow2", file, image]) == 0)
            #expect(images.deleted.withLock { $0.isEmpty })
            #expect((try? FileManager.default.contentsOfDirectory(atPath: directory + "/uploads")) ?? [] == [])
        }
    }

    @Test("an upload is refused for an attached volume without force and for formats it cannot write")
    func uploadRefusals() async throws {
        try await Harness.withService(images: FakeVolumeImages()) { service, _ in
            let volume = try await Harness.create(service)
            var request = VolumeUploadRequest(imageName: "img")
            request.diskFormat = "vhd"
            #expect(
                await Self.code { _ = try await service.uploadToImage(volume.id, request, caller: Self.member) } == .badRequest)
            try await service.resetStatus(volume.id, status: .inUse, caller: .system)
            request.diskFormat = "raw"
            #expect(
                await Self.code { _ = try await service.uploadToImage(volume.id, request, caller: Self.member) } == .badRequest)
            #expect(try await service.volume(volume.id, caller: Self.member).status == .inUse)
        }
    }

    @Test("a failed upload deletes its image and puts the volume back; so does a restart in the middle of one")
    func uploadFailureAndRestart() async throws {
        let images = FakeVolumeImages(failing: true)
        try await Harness.withService(images: images) { service, _ in
            let volume = try await Harness.create(service)
            let upload = try await service.uploadToImage(volume.id, VolumeUploadRequest(imageName: "img"), caller: Self.member)
            #expect(try await Self.waitForStatus(service, volume.id, not: .uploading).status == .available)
            for _ in 0..<200 where images.record(upload.imageID) != nil { try await Task.sleep(for: .milliseconds(25)) }
            #expect(images.record(upload.imageID) == nil)
            #expect(images.deleted.withLock { $0 } == [upload.imageID])

            // A volume left uploading by a crash, from in-use.
            try await service.database.write { db in
                try await db.raw(
                    """
                    UPDATE volumes SET status = 'uploading', previous_status = 'in-use' WHERE id = \(bind: volume.id)
                    """
                ).run()
                try await db.raw(
                    """
                    INSERT INTO volume_uploads (volume_id, image_id, disk_format, created_at)
                    VALUES (\(bind: volume.id), 'queued-image', 'raw', 0)
                    """
                ).run()
            }
            try await service.start()
            #expect(try await service.volume(volume.id, caller: Self.member).status == .inUse)
            #expect(images.deleted.withLock { $0 }.last == "queued-image")
            let left = try await service.database.read { db in
                try await db.raw("SELECT volume_id FROM volume_uploads").all().count
            }
            #expect(left == 0)
        }
    }
}

/// An image service that keeps reserved images in memory and takes their files into a
/// directory of its own; it can be told to fail every completion.
final class FakeVolumeImages: VolumeImages {
    struct Record: Sendable {
        var reservation: VolumeImageReservation
        var owner: String?
        var file: String?
    }

    let directory = NSTemporaryDirectory() + "updraft-fake-images-" + UUID().uuidString
    let failing: Bool
    let records = Mutex<[String: Record]>([:])
    let deleted = Mutex<[String]>([])

    init(failing: Bool = false) {
        self.failing = failing
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func record(_ id: String) -> Record? {
        records.withLock { $0[id] }
    }

    func image(_ id: String, caller: AuthContext) async throws -> VolumeImage {
        throw UpdraftError(.notFound, "No image found with ID \(id)")
    }

    func reserveImage(_ reservation: VolumeImageReservation, caller: AuthContext) async throws -> String {
        let id = UUID().uuidString.lowercased()
        records.withLock { $0[id] = Record(reservation: reservation, owner: caller.projectID) }
        return id
    }

    func completeImage(_ id: String, file: String) async throws {
        if failing { throw UpdraftError(.internal, "the image store is full") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + id
        try FileManager.default.moveItem(atPath: file, toPath: path)
        records.withLock { $0[id]?.file = path }
    }

    func deleteImage(_ id: String) async {
        records.withLock { $0[id] = nil }
        deleted.withLock { $0.append(id) }
    }
}

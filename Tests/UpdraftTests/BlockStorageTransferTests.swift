import Foundation
import SQLKit
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftBlockStorage

/// Volume transfers between projects, on the block-storage service with real qcow2 files and
/// its job loop running.
@Suite("Block storage transfers", .enabled(if: qemuImgAvailable))
struct BlockStorageTransferTests {
    typealias Harness = BlockStorageServiceTests
    static let member = Harness.member
    static let stranger = Harness.stranger

    static func snapshot(_ service: BlockStorageService, of volume: String) async throws -> VolumeSnapshot {
        let snapshot = try await service.createSnapshot(
            volumeID: volume, name: "s", description: nil, metadata: [:], caller: member)
        for _ in 0..<200 where try await service.snapshot(snapshot.id, caller: member).status != .available {
            try await Task.sleep(for: .milliseconds(25))
        }
        return try await service.snapshot(snapshot.id, caller: member)
    }

    static func code(of body: () async throws -> Void) async -> UpdraftError.Code? {
        do {
            try await body()
            return nil
        } catch let error as UpdraftError {
            return error.code
        } catch {
            return .internal
        }
    }

    // MARK: Transfers

    @Test("a transfer offers an available volume with a 16-hex-digit key kept only as a salted hash")
    func offer() async throws {
        try await Harness.withService { service, _ in
            let volume = try await Harness.create(service)
            let transfer = try await service.createTransfer(
                volumeID: volume.id, name: " t ", noSnapshots: false, caller: Self.member)
            let key = try #require(transfer.authKey)
            #expect(key.count == 16 && key.allSatisfy(\.isHexDigit))
            #expect(transfer.name == "t")
            #expect(try await service.volume(volume.id, caller: Self.member).status == .awaitingTransfer)
            let stored = try await service.database.read { db in
                try await db.raw("SELECT salt, crypt_hash FROM volume_transfers").all().map {
                    try $0.string("salt") + " " + $0.string("crypt_hash")
                }
            }
            #expect(stored.count == 1 && !(stored.first ?? key).contains(key))
            // Shown to its project without the key; not shown to the project that may accept it.
            #expect(try await service.transfer(transfer.id, caller: Self.member).authKey == nil)
            #expect(try await service.transfers(allProjects: false, caller: Self.member).map(\.id) == [transfer.id])
            #expect(try await service.transfers(allProjects: true, caller: Self.stranger).isEmpty)
            #expect(await Self.code { _ = try await service.transfer(transfer.id, caller: Self.stranger) } == .notFound)
            // Only an available volume, and only once.
            #expect(
                await Self.code {
                    _ = try await service.createTransfer(
                        volumeID: volume.id, name: nil, noSnapshots: false, caller: Self.member)
                } == .badRequest)
            #expect(
                await Self.code { try await service.deleteTransfer(transfer.id, caller: Self.stranger) } == .notFound)
            try await service.deleteTransfer(transfer.id, caller: Self.member)
            #expect(try await service.volume(volume.id, caller: Self.member).status == .available)
            #expect(try await service.transfers(allProjects: false, caller: Self.member).isEmpty)
        }
    }

    @Test("accepting with the key moves the volume and its snapshots; a wrong key is 400 and changes nothing")
    func accept() async throws {
        try await Harness.withService { service, _ in
            let volume = try await Harness.create(service)
            let snapshot = try await Self.snapshot(service, of: volume.id)
            let transfer = try await service.createTransfer(
                volumeID: volume.id, name: nil, noSnapshots: false, caller: Self.member)
            let key = try #require(transfer.authKey)

            #expect(
                await Self.code {
                    _ = try await service.acceptTransfer(transfer.id, authKey: "0123456789abcdef", caller: Self.stranger)
                } == .badRequest)
            #expect(try await service.volume(volume.id, caller: Self.member).status == .awaitingTransfer)
            #expect(try await service.transfer(transfer.id, caller: Self.member).id == transfer.id)

            let accepted = try await service.acceptTransfer(transfer.id, authKey: key, caller: Self.stranger)
            #expect(accepted.volumeID == volume.id)
            let moved = try await service.volume(volume.id, caller: Self.stranger)
            #expect(moved.status == .available && moved.projectID == "q" && moved.userID == "x")
            #expect(await Self.code { _ = try await service.volume(volume.id, caller: Self.member) } == .notFound)
            let snapshots = try await service.snapshots(allProjects: false, caller: Self.stranger)
            #expect(snapshots.map(\.id) == [snapshot.id] && snapshots.first?.userID == "x")
            #expect(try await service.snapshots(allProjects: false, caller: Self.member).isEmpty)
            #expect(try await service.transfers(allProjects: false, caller: Self.member).isEmpty)
            #expect(
                await Self.code {
                    _ = try await service.acceptTransfer(transfer.id, authKey: key, caller: Self.stranger)
                } == .notFound)
        }
    }

    @Test("a transfer without snapshots leaves them with the old project")
    func noSnapshots() async throws {
        try await Harness.withService { service, _ in
            let volume = try await Harness.create(service)
            let snapshot = try await Self.snapshot(service, of: volume.id)
            let transfer = try await service.createTransfer(
                volumeID: volume.id, name: nil, noSnapshots: true, caller: Self.member)
            _ = try await service.acceptTransfer(transfer.id, authKey: transfer.authKey ?? "", caller: Self.stranger)
            #expect(try await service.volume(volume.id, caller: Self.stranger).projectID == "q")
            #expect(try await service.snapshots(allProjects: false, caller: Self.member).map(\.id) == [snapshot.id])
        }
    }

    @Test("accepting past the accepting project's quota is 413 and leaves the offer open")
    func acceptQuota() async throws {
        try await Harness.withService { service, _ in
            let volume = try await Harness.create(service, size: 2)
            let transfer = try await service.createTransfer(
                volumeID: volume.id, name: nil, noSnapshots: false, caller: Self.member)
            _ = try await service.updateQuotaSet("q", ["gigabytes": 1], caller: .system)
            #expect(
                await Self.code {
                    _ = try await service.acceptTransfer(transfer.id, authKey: transfer.authKey ?? "", caller: Self.stranger)
                } == .overLimit)
            #expect(try await service.volume(volume.id, caller: Self.member).status == .awaitingTransfer)
            #expect(try await service.transfer(transfer.id, caller: Self.member).id == transfer.id)
            _ = try await service.updateQuotaSet("q", ["gigabytes": 2], caller: .system)
            _ = try await service.acceptTransfer(transfer.id, authKey: transfer.authKey ?? "", caller: Self.stranger)
            #expect(try await service.volume(volume.id, caller: Self.stranger).status == .available)
        }
    }
}

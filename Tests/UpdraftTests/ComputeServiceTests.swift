import Foundation
import Logging
import SQLKit
import Testing
import UpdraftCore
import UpdraftDatabase

@testable import UpdraftCompute

/// Images held in memory, for compute tests that need no image service.
final class MemoryImages: ComputeImages, @unchecked Sendable {
    // Guarded by `lock`; tests touch it from the job loop and the test body.
    private let lock = NSLock()
    private var images: [String: ComputeImage] = [:]

    func add(_ image: ComputeImage) {
        lock.withLock { images[image.id] = image }
    }

    func image(_ id: String, caller: AuthContext) async throws -> ComputeImage {
        guard let image = lock.withLock({ images[id] }) else { throw UpdraftError.notFound("No image found with ID \(id)") }
        return image
    }

    func reserveSnapshot(_ request: SnapshotRequest, caller: AuthContext) async throws -> String {
        let id = UUID().uuidString.lowercased()
        add(
            ComputeImage(
                id: id, name: request.name, status: "queued", diskFormat: request.diskFormat, path: nil,
                minDisk: request.minDisk, minRam: request.minRam, size: 0, properties: request.properties))
        return id
    }

    func createEmptyImage(_ request: SnapshotRequest, caller: AuthContext) async throws -> String {
        let id = UUID().uuidString.lowercased()
        add(
            ComputeImage(
                id: id, name: request.name, status: "active", diskFormat: request.diskFormat, path: "/dev/null",
                minDisk: request.minDisk, minRam: request.minRam, size: 0, properties: request.properties))
        return id
    }

    func completeSnapshot(_ id: String, file: String) async throws {
        try lock.withLock {
            guard var image = images[id] else { throw UpdraftError.notFound("no image \(id)") }
            image.status = "active"
            image.path = file + ".kept"
            images[id] = image
        }
    }

    func deleteImage(_ id: String) async {
        lock.withLock { images[id] = nil }
    }

    func status(_ id: String) -> String? { lock.withLock { images[id]?.status } }

    func listImages(caller: AuthContext) async throws -> [ComputeImage] {
        lock.withLock { Array(images.values) }
    }

    func deleteImage(_ id: String, caller: AuthContext) async throws {
        await deleteImage(id)
    }

    func updateProperties(_ id: String, set: [String: String], remove: [String], caller: AuthContext) async throws
        -> ComputeImage
    {
        try lock.withLock {
            guard var image = images[id] else { throw UpdraftError.notFound("no image \(id)") }
            image.properties.merge(set) { $1 }
            for key in remove { image.properties[key] = nil }
            images[id] = image
            return image
        }
    }
}

@Suite("Compute service on the fake driver")
struct ComputeServiceTests {
    static let project = "p1"
    static let member = AuthContext(
        userID: "u1", userDomainID: "default", scope: .project(id: project, domainID: "default"),
        roles: ["member", "reader"], auditID: "a")
    static let other = AuthContext(
        userID: "u2", userDomainID: "default", scope: .project(id: "p2", domainID: "default"),
        roles: ["member", "reader"], auditID: "b")

    static func withCompute(
        _ body: @Sendable (ComputeService, FakeDriver, MemoryImages) async throws -> Void
    ) async throws {
        try await withCompute(prepare: { _ in (nil, (), []) }) { compute, driver, images, _ in
            try await body(compute, driver, images)
        }
    }

    /// A compute service on the fake driver over a fresh SQLite store with the compute tables
    /// and `migrations`, its job loop running while `body` runs. `prepare` may give it networks
    /// and loops of its own to run alongside, and hands `body` what it made; `volumes` gives it
    /// block storage from what `prepare` made.
    static func withCompute<Extra: Sendable>(
        migrations: [Migration] = [],
        volumes: @Sendable (Extra) -> (any ComputeVolumes)? = { _ in nil },
        prepare:
            @Sendable (Database) async throws -> (
                networks: (any ComputeNetworks)?, extra: Extra, loops: [@Sendable () async throws -> Void]
            ),
        _ body: @Sendable (ComputeService, FakeDriver, MemoryImages, Extra) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "updraft-compute-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try await Database.open(.sqlite(path: directory + "/db.sqlite"), logger: Logger(label: "test"))
        try await Migrator.apply(ComputeSchema.migrations + migrations, to: database)
        let driver = FakeDriver()
        let images = MemoryImages()
        images.add(
            ComputeImage(
                id: "img", name: "tiny", status: "active", diskFormat: "qcow2", path: "/dev/null", minDisk: 0,
                minRam: 0, size: 1 << 20, properties: [:]))
        images.add(
            ComputeImage(
                id: "img2", name: "tiny2", status: "active", diskFormat: "qcow2", path: "/dev/null", minDisk: 0,
                minRam: 0, size: 1 << 20, properties: [:]))
        var configuration = ComputeService.Configuration()
        configuration.shutdownGrace = .milliseconds(10)
        configuration.portWiringTimeout = .seconds(10)
        do {
            let prepared = try await prepare(database)
            let compute = ComputeService(
                configuration: configuration, database: database, images: images, networks: prepared.networks,
                volumes: volumes(prepared.extra), drivers: ["fake-host": driver], logger: Logger(label: "test"))
            try await compute.start()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await compute.run() }
                for loop in prepared.loops { group.addTask { try await loop() } }
                try await body(compute, driver, images, prepared.extra)
                group.cancelAll()
            }
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    /// Polls until the server reaches `status` and no task runs.
    static func wait(_ compute: ComputeService, _ id: String, _ status: String) async throws -> Instance {
        for _ in 0..<500 {
            let server = try await compute.server(id, caller: member)
            if server.status == status && server.taskState == nil { return server }
            try await Task.sleep(for: .milliseconds(10))
        }
        let server = try await compute.server(id, caller: member)
        Issue.record("server \(id) is \(server.status)/\(server.taskState?.rawValue ?? "-"), not \(status)")
        return server
    }

    static func create(_ compute: ComputeService, name: String = "vm", flavor: String = "42") async throws -> Instance {
        let created = try await compute.createServers(
            .init(name: name, imageID: "img", flavorID: flavor), caller: member, requestID: "req-1")
        return try #require(created.servers.first)
    }

    @Test("a created server becomes ACTIVE and is running on the host")
    func createActive() async throws {
        try await Self.withCompute { compute, driver, _ in
            let server = try await Self.create(compute)
            #expect(server.status == "BUILD")
            let active = try await Self.wait(compute, server.id, "ACTIVE")
            #expect(active.powerState == .running)
            #expect(active.host == "fake-host")
            #expect(try await driver.powerStates()[server.id] == .running)
        }
    }

    @Test("each action reaches Nova's documented state")
    func lifecycle() async throws {
        try await Self.withCompute { compute, driver, images in
            let id = try await Self.create(compute).id
            _ = try await Self.wait(compute, id, "ACTIVE")
            let steps: [(ServerAction, String, PowerState?)] = [
                (.stop, "SHUTOFF", .shutdown), (.start, "ACTIVE", .running), (.softReboot, "ACTIVE", .running),
                (.hardReboot, "ACTIVE", .running), (.pause, "PAUSED", .paused), (.unpause, "ACTIVE", .running),
                (.suspend, "SUSPENDED", .suspended), (.resume, "ACTIVE", .running),
                (.shelve, "SHELVED_OFFLOADED", nil), (.unshelve, "ACTIVE", .running),
            ]
            for (action, status, power) in steps {
                try await compute.perform(action, on: id, caller: Self.member, requestID: "req-\(action)")
                let server = try await Self.wait(compute, id, status)
                #expect(server.status == status, "after \(action)")
                #expect(try await driver.powerStates()[id] == power, "host state after \(action)")
            }
            let shelvedImage = try await compute.server(id, caller: Self.member).shelvedImageID
            #expect(shelvedImage == nil)
            let snapshot = try await compute.perform(.createImage, on: id, caller: Self.member, requestID: "r", name: "snap")
            _ = try await Self.wait(compute, id, "ACTIVE")
            #expect(images.status(try #require(snapshot.imageID)) == "active")
        }
    }

    @Test("a stopped server stays stopped through rebuild, resize and confirm, as in Nova")
    func stoppedStaysStopped() async throws {
        try await Self.withCompute { compute, driver, _ in
            let id = try await Self.create(compute).id
            _ = try await Self.wait(compute, id, "ACTIVE")
            try await compute.perform(.stop, on: id, caller: Self.member, requestID: "r")
            _ = try await Self.wait(compute, id, "SHUTOFF")
            try await compute.perform(.rebuild, on: id, caller: Self.member, requestID: "r", imageID: "img2", name: "renamed")
            // The answer to a rebuild already shows the new image and name, as Nova's does.
            let rebuilding = try await compute.server(id, caller: Self.member)
            #expect(rebuilding.imageID == "img2" && rebuilding.name == "renamed")
            _ = try await Self.wait(compute, id, "SHUTOFF")
            #expect(try await driver.powerStates()[id] == .shutdown)
            try await compute.perform(.resize, on: id, caller: Self.member, requestID: "r", flavorID: "84")
            _ = try await Self.wait(compute, id, "VERIFY_RESIZE")
            #expect(try await driver.powerStates()[id] == .shutdown)
            try await compute.perform(.confirmResize, on: id, caller: Self.member, requestID: "r")
            let server = try await Self.wait(compute, id, "SHUTOFF")
            #expect(server.flavor.name == "m1.micro")
        }
    }

    @Test("an action in the wrong state is a 409 and changes nothing")
    func conflict() async throws {
        try await Self.withCompute { compute, _, _ in
            let id = try await Self.create(compute).id
            _ = try await Self.wait(compute, id, "ACTIVE")
            await #expect(throws: UpdraftError.self) {
                try await compute.perform(.start, on: id, caller: Self.member, requestID: "r")
            }
            let server = try await compute.server(id, caller: Self.member)
            #expect(server.status == "ACTIVE" && server.taskState == nil)
        }
    }

    @Test("every action is refused in every state Nova refuses it in")
    func stateTable() {
        let expected: [ServerAction: Set<VMState>] = [
            .stop: [.active, .error], .start: [.stopped], .pause: [.active], .unpause: [.paused], .suspend: [.active],
            .resume: [.suspended], .shelve: [.active, .stopped, .paused, .suspended], .shelveOffload: [.shelved],
            .unshelve: [.shelved, .shelvedOffloaded], .createImage: [.active, .stopped, .paused, .suspended],
            .rebuild: [.active, .stopped, .error], .resize: [.active, .stopped], .confirmResize: [.resized],
            .revertResize: [.resized], .softReboot: [.active], .hardReboot: [.active, .stopped, .paused, .suspended, .error],
            .delete: Set(VMState.allCases).subtracting([.deleted]),
            .consoleOutput: Set(VMState.allCases).subtracting([.building, .shelvedOffloaded, .deleted]),
            .remoteConsole: [.active, .paused],
        ]
        for action in ServerAction.allCases {
            for state in VMState.allCases {
                let allowed = expected[action]?.contains(state) ?? false
                #expect(action.allowed(state, nil) == allowed, "\(action) in \(state)")
                // A task in progress blocks everything but delete and the reads.
                if ![.delete, .consoleOutput, .remoteConsole, .hardReboot].contains(action) {
                    #expect(!action.allowed(state, .spawning), "\(action) in \(state) while spawning")
                }
            }
        }
    }

    @Test("over the instance quota is a 403 and creates nothing")
    func quota() async throws {
        try await Self.withCompute { compute, _, _ in
            _ = try await compute.setQuotas(Self.project, ["instances": 1])
            _ = try await Self.create(compute)
            await #expect(throws: UpdraftError.self) { _ = try await Self.create(compute, name: "second") }
            #expect(try await compute.usage(Self.project).instances == 1)
        }
    }

    @Test("another project sees none of it")
    func isolation() async throws {
        try await Self.withCompute { compute, _, _ in
            let id = try await Self.create(compute).id
            await #expect(throws: UpdraftError.self) { _ = try await compute.server(id, caller: Self.other) }
            let listed = try await compute.listServers(.init(projectID: "p2"))
            #expect(listed.isEmpty)
        }
    }

    @Test("a guest that dies is SHUTOFF after one power-state sync")
    func powerSync() async throws {
        try await Self.withCompute { compute, driver, _ in
            let id = try await Self.create(compute).id
            _ = try await Self.wait(compute, id, "ACTIVE")
            try await driver.crash(id)
            try await compute.syncPowerStates()
            #expect(try await compute.server(id, caller: Self.member).status == "SHUTOFF")
        }
    }

    @Test("a guest QEMU stops (internal-error) is SHUTOFF with the hypervisor's words as its fault and an action")
    func crashCarriesItsReason() async throws {
        try await Self.withCompute { compute, driver, _ in
            let id = try await Self.create(compute).id
            _ = try await Self.wait(compute, id, "ACTIVE")
            let reason = "QEMU stopped the guest (run state internal-error): KVM internal error. Suberror: 1"
            try await driver.crash(id, reason: reason)
            try await compute.syncPowerStates()
            let server = try await compute.server(id, caller: Self.member)
            #expect(server.status == "SHUTOFF")
            #expect(server.powerState == .shutdown)
            #expect(server.fault?.message == reason)
            #expect(try await driver.powerStates()[id] == .shutdown, "the crashed guest is stopped on the host")
            let stop = try #require(try await compute.actions(id, caller: Self.member).first)
            #expect(stop.action == "stop")
            #expect(stop.message == "Error")
            #expect(stop.events.first?.traceback == reason)
            // A second sync changes nothing more; starting the server again clears the fault.
            try await compute.syncPowerStates()
            #expect(try await compute.actions(id, caller: Self.member).count == 2)
            try await compute.perform(.start, on: id, caller: Self.member, requestID: "req-start")
            let started = try await Self.wait(compute, id, "ACTIVE")
            #expect(started.fault == nil)
        }
    }

    @Test("an acknowledged stop that a restart interrupted is carried out after it, not dropped")
    func interruptedStopCompletes() async throws {
        try await Self.withCompute { compute, driver, _ in
            let id = try await Self.create(compute).id
            _ = try await Self.wait(compute, id, "ACTIVE")
            // What a kill -9 right after the 202 leaves: the task recorded, the guest still running.
            try await compute.database.write { db in
                try await db.raw("UPDATE instances SET task_state = 'powering-off' WHERE id = \(bind: id)").run()
            }
            try await compute.recoverInterruptedWork()
            let server = try await Self.wait(compute, id, "SHUTOFF")
            #expect(server.powerState == .shutdown)
            #expect(try await driver.powerStates()[id] == .shutdown)
        }
    }

    @Test("a flavor no host can hold leaves the server in ERROR with a message naming the shortfall")
    func noValidHost() async throws {
        try await Self.withCompute { compute, _, _ in
            _ = try await compute.setQuotas(Self.project, ["cores": -1, "ram": -1])
            let flavor = try await compute.createFlavor(Flavor(id: "huge", name: "huge", vcpus: 1_000_000, ram: 64, disk: 1))
            let id = try await Self.create(compute, flavor: flavor.id).id
            let server = try await Self.wait(compute, id, "ERROR")
            #expect(server.fault?.message.contains("1000000 vCPUs") == true)
        }
    }

    @Test("a server's adminPass is the one asked for, else 12 generated hex digits; a rebuild's likewise")
    func adminPass() async throws {
        try await Self.withCompute { compute, _, _ in
            let generated = try await compute.createServers(
                .init(name: "vm", imageID: "img", flavorID: "42"), caller: Self.member, requestID: "r")
            #expect(generated.adminPass.count == 12 && generated.adminPass.allSatisfy(\.isHexDigit))
            let chosen = try await compute.createServers(
                .init(name: "vm2", imageID: "img", flavorID: "42", adminPass: "s3cret"), caller: Self.member,
                requestID: "r")
            #expect(chosen.adminPass == "s3cret")
            let id = try #require(chosen.servers.first).id
            _ = try await Self.wait(compute, id, "ACTIVE")
            let rebuilt = try await compute.perform(.rebuild, on: id, caller: Self.member, requestID: "r", imageID: "img2")
            #expect(rebuilt.adminPass?.count == 12)
            _ = try await Self.wait(compute, id, "ACTIVE")
            let kept = try await compute.perform(
                .rebuild, on: id, caller: Self.member, requestID: "r", imageID: "img", adminPass: "again")
            #expect(kept.adminPass == "again")
            _ = try await Self.wait(compute, id, "ACTIVE")
            #expect(try await compute.perform(.stop, on: id, caller: Self.member, requestID: "r").adminPass == nil)
        }
    }

    @Test("a hypervisor's uptime is its driver's, in the line libvirt gives Nova")
    func hypervisorUptime() async throws {
        let line = ComputeService.uptimeLine(
            HostUptime(seconds: 3 * 86_400 + 4 * 3_600 + 5 * 60 + 59, loadAverages: [0.1, 0.25, 12]),
            at: Date(timeIntervalSince1970: 0))
        #expect(line == " 1970-01-01T00:00:00Z up 3 days, 04:05, load average: 0.10, 0.25, 12.00")
        try await Self.withCompute { compute, _, _ in
            let host = try #require(try await compute.hosts().first)
            let uptime = try await compute.hypervisorUptime(host)
            #expect(uptime.hasSuffix(" up 1 days, 00:00, load average: 0.00, 0.00, 0.00"))
            var stale = host
            stale.host.hostname = "gone"
            await #expect(throws: UpdraftError.self) { _ = try await compute.hypervisorUptime(stale) }
        }
    }

    @Test("generated key pairs are valid OpenSSH Ed25519 keys with an MD5 fingerprint")
    func keypairs() async throws {
        try await Self.withCompute { compute, _, _ in
            let pair = try await compute.createKeypair(
                name: "k1", userID: "u1", projectID: Self.project, publicKey: nil, type: "ssh")
            #expect(pair.publicKey.hasPrefix("ssh-ed25519 "))
            #expect(pair.privateKey?.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----") == true)
            #expect(pair.fingerprint.split(separator: ":").count == 16)
            await #expect(throws: UpdraftError.self) {
                _ = try await compute.createKeypair(
                    name: "bad", userID: "u1", projectID: Self.project, publicKey: "ssh-rsa notbase64!", type: "ssh")
            }
        }
    }
}

@Test("the console tail gives exactly the lines asked for, without control characters")
func consoleTail() {
    let log = "one\ntwo\u{1b}[0m\nthree\nfour\n"
    #expect(ComputeService.tail(log, lines: 3) == "three\nfour\n")
    #expect(ComputeService.tail(log, lines: 3).split(separator: "\n", omittingEmptySubsequences: false).count == 3)
    #expect(ComputeService.tail(log, lines: nil) == "one\ntwo[0m\nthree\nfour\n")
}

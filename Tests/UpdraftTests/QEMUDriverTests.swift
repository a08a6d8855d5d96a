import Foundation
import Testing

@testable import UpdraftCompute

#if canImport(Glibc)
    import Glibc
#endif

let qemuToolsAvailable = ["qemu-system-x86_64", "qemu-img", "genisoimage"].allSatisfy { name in
    ["/usr/bin/", "/usr/local/bin/", "/bin/"].contains { FileManager.default.isExecutableFile(atPath: $0 + name) }
}

@Suite("QEMU driver")
struct QEMUDriverTests {
    @Test("the config drive and metadata service carry Nova's meta_data.json, network and vendor data, and user data")
    func metadataFiles() throws {
        var spec = makeSpec(id: "0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c", imagePath: "/unused")
        let files = try InstanceMetadata(spec).openStackFiles()
        #expect(
            files.map(\.name) == [
                "meta_data.json", "network_data.json", "vendor_data.json", "vendor_data2.json", "user_data",
            ])
        let meta = String(decoding: files[0].data, as: UTF8.self)
        #expect(
            meta
                == #"{"availability_zone":"nova","devices":[],"hostname":"vm-1","keys":[{"data":"ssh-ed25519 AAAA test","name":"mykey","type":"ssh"}],"launch_index":0,"meta":{"role":"test"},"name":"vm 1","project_id":"p1","public_keys":{"mykey":"ssh-ed25519 AAAA test"},"uuid":"0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c"}"#
        )
        #expect(String(decoding: files[1].data, as: UTF8.self) == #"{"links":[],"networks":[],"services":[]}"#)
        #expect(files[4].data == Data("#!/bin/sh\necho hi\n".utf8))
        // Without the cloud's vendor data an empty object; with it, those bytes as they are.
        #expect(files[2].data == Data("{}".utf8) && files[3].data == Data("{}".utf8))
        let vendor = Data(##"{"cloud-init": "#cloud-config\nbootcmd: [[true]]\n"}"##.utf8)
        spec.metadata.vendorData = vendor
        #expect(try InstanceMetadata(spec).openStackFiles()[2].data == vendor)

        // With a NIC, network_data.json has its link, configured by DHCP.
        spec.nics = [
            InstanceSpec.NIC(
                portID: "7a1e4c1e-0000-4000-8000-000000000001", networkID: "n1", mac: "fa:16:3e:00:00:01", tap: "updt7a1e4c1e000",
                namespace: "updraft-net-n1")
        ]
        let network = String(decoding: try InstanceMetadata(spec).openStackFiles()[1].data, as: UTF8.self)
        #expect(network.contains(#""ethernet_mac_address":"fa:16:3e:00:00:01""#))
        #expect(network.contains(#""type":"ipv4_dhcp""#) && network.contains(#""network_id":"n1""#))

        // On a subnet without DHCP, the address, netmask, default route and DNS come from here alone.
        spec.nics[0].addresses = [
            .init(address: "10.63.0.5", cidr: "10.63.0.0/24", gateway: "10.63.0.1", dhcp: false, dnsServers: ["10.0.0.2"])
        ]
        let static_ = String(decoding: try InstanceMetadata(spec).openStackFiles()[1].data, as: UTF8.self)
        #expect(!static_.contains("ipv4_dhcp"))
        #expect(static_.contains(#""ip_address":"10.63.0.5""#) && static_.contains(#""netmask":"255.255.255.0""#))
        #expect(static_.contains(#""routes":[{"gateway":"10.63.0.1","netmask":"0.0.0.0","network":"0.0.0.0"}]"#))
        #expect(static_.contains(#""services":[{"address":"10.0.0.2","type":"dns"}]"#))
        #expect(InstanceMetadata.netmask(of: "172.16.0.0/12") == "255.240.0.0")
    }

    @Test("the EC2 tree lists directories, values and public keys as Nova's does")
    func ec2Tree() {
        let spec = makeSpec(id: "0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c", imagePath: "/unused")
        let metadata = InstanceMetadata(
            id: spec.id, metadata: spec.metadata, nics: [], fixedIPv4: "10.0.0.5", floatingIPv4: "198.18.0.9",
            ec2ID: "i-0000000a", flavorName: "m1.tiny")
        #expect(metadata.ec2("instance-id") == "i-0000000a")
        #expect(metadata.ec2("local-ipv4") == "10.0.0.5" && metadata.ec2("public-ipv4") == "198.18.0.9")
        #expect(metadata.ec2("public-keys") == "0=mykey")
        #expect(metadata.ec2("public-keys/0/openssh-key") == "ssh-ed25519 AAAA test")
        #expect(metadata.ec2("")?.split(separator: "\n").contains("placement/") == true)
        #expect(metadata.ec2("placement") == "availability-zone")
        #expect(metadata.ec2("no-such-thing") == nil)
    }

    @Test("spec.json round-trips and uses snake_case keys")
    func recordRoundTrip() throws {
        let record = QEMUDriver.InstanceRecord(
            id: "u", name: "vm", vcpus: 2, memoryMB: 512, rootGB: 1, imageID: "img", basePath: "/c/img.raw",
            baseFormat: "raw", hasKernel: true, hasRamdisk: false, commandLine: "quiet", hasConfigDrive: true,
            websocketPort: 5701)
        let data = try JSONEncoder().encode(record)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""memory_mb":512"#) && text.contains(#""websocket_port":5701"#))
        #expect(try JSONDecoder().decode(QEMUDriver.InstanceRecord.self, from: data) == record)
    }

    @Test("QEMU run states map to Nova power states as libvirt maps them")
    func powerStateMapping() {
        #expect(QEMUDriver.powerState(.running) == .running)
        #expect(QEMUDriver.powerState(.paused) == .paused)
        #expect(QEMUDriver.powerState(.inMigrate) == .paused)
        #expect(QEMUDriver.powerState(.shutdown) == .shutdown)
        #expect(QEMUDriver.powerState(.suspended) == .suspended)
        #expect(QEMUDriver.powerState(.guestPanicked) == .crashed)
        #expect(QEMUDriver.powerState(.internalError) == .crashed)
        #expect(QEMUDriver.powerState(.other("new")) == .noState)
    }

    @Test("a crash is explained with what QEMU wrote since its latest launch, not before")
    func wordsSinceLaunch() throws {
        let path = NSTemporaryDirectory() + "updraft-test-launch-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = """
            2026-11-29 launching /usr/bin/qemu-system-x86_64 -name updraft-1
            old: terminating on signal 15
            2026-11-29 launching /usr/bin/qemu-system-x86_64 -name updraft-1
            KVM internal error. Suberror: 1
            emulation failure

            """
        try log.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(QEMUDriver.wordsSinceLaunch(path) == "KVM internal error. Suberror: 1 | emulation failure")
        try "2026-11-29 launching /usr/bin/qemu-system-x86_64\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(QEMUDriver.wordsSinceLaunch(path) == nil)
    }

    @Test("only a guest whose latest launch ran under KVM is started again under TCG after an internal error")
    func launchedUnderKVM() throws {
        let path = NSTemporaryDirectory() + "updraft-test-launch-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(!QEMUDriver.launchedUnderKVM(path))
        let kvm = "2026-11-30 launching /usr/bin/qemu-system-x86_64 -machine pc,accel=kvm -cpu host\n"
        try kvm.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(QEMUDriver.launchedUnderKVM(path))
        let tcg =
            kvm + "KVM internal error. Suberror: 1\n"
            + "2026-11-30 launching /usr/bin/qemu-system-x86_64 -machine pc,accel=tcg\n"
        try tcg.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!QEMUDriver.launchedUnderKVM(path))
    }

    @Test("ids that could leave the instances directory are refused")
    func unsafeIDs() async throws {
        let driver = QEMUDriver(configuration: .init(dataDirectory: "/nonexistent"))
        for id in ["../etc", "a/b", "", ".hidden"] {
            await #expect(throws: HypervisorError.notFound(id)) { try await driver.destroy(id) }
        }
    }

    @Test("a spawn that fails before QEMU starts leaves no instance directory behind")
    func failedSpawnCleansUp() async throws {
        let data = "/tmp/ud-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let driver = QEMUDriver(configuration: .init(dataDirectory: data))
        let id = UUID().uuidString.lowercased()
        var spec = makeSpec(id: id, imagePath: "/unused")
        spec.image?.diskFormat = "vmdk"
        await #expect(throws: HypervisorError.self) { try await driver.spawn(spec) }
        #expect(!FileManager.default.fileExists(atPath: "\(data)/instances/\(id)"))
        #expect(try await driver.powerStates().isEmpty)
    }

    @Test(
        "a spawn whose QEMU cannot launch removes the disks and config drive it made",
        .enabled(if: qemuToolsAvailable, "qemu-system-x86_64, qemu-img or genisoimage is not installed"))
    func failedLaunchCleansUp() async throws {
        let data = "/tmp/ud-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: data) }
        let imagePath = data + "/blank.raw"
        #expect(FileManager.default.createFile(atPath: imagePath, contents: Data(count: 1 << 20)))
        let driver = QEMUDriver(
            configuration: .init(
                dataDirectory: data, qemuBinary: "/nonexistent/qemu-system-x86_64", accelerator: .tcg(reason: "test"),
                websocketPorts: 15900...15999))
        let id = UUID().uuidString.lowercased()
        await #expect(throws: HypervisorError.self) { try await driver.spawn(makeSpec(id: id, imagePath: imagePath)) }
        #expect(!FileManager.default.fileExists(atPath: "\(data)/instances/\(id)"))
        // The shared base image is not the spawn's to undo.
        #expect(FileManager.default.fileExists(atPath: "\(data)/cache/base/img-1.raw"))
    }

    @Test(
        "a real instance runs, pauses, suspends, resumes, powers off, dies, and is destroyed",
        .enabled(if: qemuToolsAvailable, "qemu-system-x86_64, qemu-img or genisoimage is not installed"),
        .timeLimit(.minutes(3)))
    func lifecycle() async throws {
        let data = "/tmp/ud-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let imagePath = data + "/blank.raw"
        #expect(FileManager.default.createFile(atPath: imagePath, contents: Data(count: 1 << 20)))
        let driver = QEMUDriver(
            configuration: .init(
                dataDirectory: data, accelerator: .tcg(reason: "test"), websocketPorts: 15700...15799,
                shutdownGrace: .seconds(1), killGrace: .seconds(2)))
        let id = UUID().uuidString.lowercased()
        let spec = makeSpec(id: id, imagePath: imagePath)
        var pids: [Int32] = []
        defer {
            for pid in pids { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: data)
        }
        func pid() -> Int32? {
            guard let text = try? String(contentsOfFile: "\(data)/instances/\(id)/qemu.pid", encoding: .utf8) else { return nil }
            return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        try await driver.spawn(spec)
        pids += [pid()].compactMap { $0 }
        #expect(try await driver.powerStates() == [id: .running])
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(data)/instances/\(id)")
        #expect(Set(["disk", "disk.config", "spec.json", "qemu.pid", "qmp.sock", "launch.log"]).isSubset(of: Set(files)))
        let vnc = try await driver.vncConsole(id)
        #expect(vnc.host == "127.0.0.1" && (15700...15799).contains(vnc.port))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(data)/cache/base") == ["img-1.raw"])

        try await driver.pause(id)
        #expect(try await driver.powerStates()[id] == .paused)
        try await driver.snapshot(id, to: data + "/snap.qcow2", format: "qcow2")
        #expect(try await driver.powerStates()[id] == .paused)
        try await driver.unpause(id)
        #expect(try await driver.powerStates()[id] == .running)
        try await driver.snapshot(id, to: data + "/snap2.qcow2", format: "qcow2")
        #expect(try await driver.powerStates()[id] == .running)
        #expect(FileManager.default.fileExists(atPath: data + "/snap2.qcow2"))

        let clock = ContinuousClock()
        let suspendTime = try await clock.measure { try await driver.suspend(id) }
        #expect(try await driver.powerStates()[id] == .suspended)
        #expect(!(pid().map(isRunning) ?? false))
        let resumeTime = try await clock.measure { try await driver.resume(spec) }
        pids += [pid()].compactMap { $0 }
        #expect(try await driver.powerStates()[id] == .running)
        #expect(!FileManager.default.fileExists(atPath: "\(data)/instances/\(id)/memory.state"))
        print("QEMU driver: suspend took \(suspendTime), resume took \(resumeTime) (64 MiB, TCG)")

        let powerOffTime = try await clock.measure { try await driver.powerOff(id, grace: .seconds(1)) }
        #expect(try await driver.powerStates()[id] == .shutdown)
        print("QEMU driver: power-off of a guest that ignores ACPI took \(powerOffTime) with a 1 s grace")

        try await driver.powerOn(spec)
        let running = try #require(pid())
        pids.append(running)
        #expect(try await driver.powerStates()[id] == .running)
        kill(running, SIGKILL)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await driver.powerStates()[id] == .shutdown)

        var bigger = spec
        bigger.rootGB = 1
        bigger.memoryMB = 96
        try await driver.resize(bigger)
        let record = try await driver.readRecord(id)
        #expect(record.rootGB == 1 && record.memoryMB == 96)

        try await driver.reboot(id, hard: true)
        pids += [pid()].compactMap { $0 }
        #expect(try await driver.powerStates()[id] == .running)
        await #expect(throws: HypervisorError.invalidState("instance \(id) must be stopped to resize")) {
            try await driver.resize(bigger)
        }
        try await driver.reboot(id, hard: false)
        pids += [pid()].compactMap { $0 }
        #expect(try await driver.powerStates()[id] == .running)
        try await driver.rebuild(bigger)
        pids += [pid()].compactMap { $0 }
        #expect(try await driver.powerStates()[id] == .running)
        #expect(try await driver.readRecord(id).websocketPort == record.websocketPort)
        _ = try await driver.consoleOutput(id)
        #expect(await driver.reapOrphans(known: [id]).isEmpty)
        try await driver.destroy(id)
        #expect(!FileManager.default.fileExists(atPath: "\(data)/instances/\(id)"))
        #expect(FileManager.default.fileExists(atPath: "\(data)/cache/base/img-1.raw"))
        #expect(try await driver.powerStates().isEmpty)

        let host = try await driver.host()
        #expect(host.hypervisorType == "QEMU" && host.hypervisorVersion >= 7_000_000 && host.accelerator == "tcg")
        #expect(host.vcpus > 0 && host.memoryMB > 0 && host.diskGB > 0)
    }

    @Test(
        "orphans unknown to the database are killed and removed; a new driver adopts running ones",
        .enabled(if: qemuToolsAvailable, "qemu-system-x86_64, qemu-img or genisoimage is not installed"),
        .timeLimit(.minutes(2)))
    func adoptionAndOrphans() async throws {
        let data = "/tmp/ud-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let imagePath = data + "/blank.raw"
        #expect(FileManager.default.createFile(atPath: imagePath, contents: Data(count: 1 << 20)))
        let configuration = QEMUDriver.Configuration(
            dataDirectory: data, accelerator: .tcg(reason: "test"), websocketPorts: 15800...15899,
            shutdownGrace: .seconds(1), killGrace: .seconds(2))
        let kept = UUID().uuidString.lowercased()
        let orphan = UUID().uuidString.lowercased()
        var pids: [Int32] = []
        defer {
            for pid in pids { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: data)
        }
        do {
            let first = QEMUDriver(configuration: configuration)
            try await first.spawn(makeSpec(id: kept, imagePath: imagePath))
            try await first.spawn(makeSpec(id: orphan, imagePath: imagePath))
        }
        for id in [kept, orphan] {
            if let text = try? String(contentsOfFile: "\(data)/instances/\(id)/qemu.pid", encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                pids.append(pid)
            }
        }
        #expect(pids.count == 2)
        let second = QEMUDriver(configuration: configuration)
        #expect(try await second.powerStates() == [kept: .running, orphan: .running])
        #expect(await second.reapOrphans(known: [kept]) == [orphan])
        #expect(try await second.powerStates() == [kept: .running])
        #expect(!isRunning(pids[1]))
        try await second.destroy(kept)
    }
}

/// Whether `pid` is a live process; a zombie (PID 1 here reaps lazily) has an empty cmdline.
func isRunning(_ pid: Int32) -> Bool {
    !(FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).isEmpty
}

func makeSpec(id: String, imagePath: String) -> InstanceSpec {
    InstanceSpec(
        id: id, vcpus: 1, memoryMB: 64, rootGB: 0,
        image: .init(id: "img-1", path: imagePath, diskFormat: "raw"), configDrive: true,
        metadata: .init(
            hostname: "vm-1", name: "vm 1", projectID: "p1", availabilityZone: "nova", metadata: ["role": "test"],
            publicKeys: [(name: "mykey", key: "ssh-ed25519 AAAA test")], userData: Data("#!/bin/sh\necho hi\n".utf8),
            launchIndex: 0))
}

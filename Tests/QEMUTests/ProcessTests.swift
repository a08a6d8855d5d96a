import Foundation
import Testing

@testable import QEMU

#if canImport(Glibc)
    import Glibc
#endif

/// Whether this machine has QEMU; tests that run it are skipped without it.
let qemuAvailable = (try? QEMU.locateBinary("qemu-system-x86_64")) != nil

@Suite("QEMU processes")
struct ProcessTests {
    @Test("accelerator detection agrees with a direct KVM_CREATE_VM probe and explains TCG")
    func acceleratorMatchesProbe() {
        let detected = QEMU.Accelerator.detect()
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        var kvmWorks = false
        if fd >= 0 {
            if ioctl(fd, UInt(0xAE00), 0) == 12 {
                let vm = ioctl(fd, UInt(0xAE01), 0)
                if vm >= 0 {
                    kvmWorks = true
                    close(vm)
                }
            }
            close(fd)
        }
        switch detected {
        case .kvm:
            #expect(kvmWorks)
        case .tcg(let reason):
            #expect(!kvmWorks)
            #expect(!reason.isEmpty)
        }
        #expect(
            QEMU.Accelerator.detect(devicePath: "/nonexistent/kvm")
                == .tcg(reason: "cannot open /nonexistent/kvm: No such file or directory"))
    }

    @Test(
        "a real QEMU started with -S walks prelaunch, running, paused, and quits",
        .enabled(if: qemuAvailable, "qemu-system-x86_64 is not installed"))
    func lifecycle() async throws {
        try await withRuntimeDirectory { directory in
            let configuration = machine(in: directory, startPaused: true)
            let process = try QEMU.Process()
            let pid = try await process.launch(configuration, logFile: directory + "/launch.log")
            defer { kill(pid, SIGKILL) }
            #expect(QEMU.Process.isAlive(pid: pid, name: configuration.name))
            let monitor = try await QEMU.Monitor.connect(socketPath: configuration.qmpSocketPath)
            #expect(try await monitor.status() == .prelaunch)
            try await monitor.cont()
            #expect(try await monitor.status() == .running)
            try await monitor.stop()
            #expect(try await monitor.status() == .paused)
            try await monitor.quit()
            #expect(await QEMU.Process.waitForExit(pid: pid, name: configuration.name, timeout: .seconds(10)))
        }
    }

    @Test(
        "a daemonized QEMU is found again from its pid file and terminated by pid",
        .enabled(if: qemuAvailable, "qemu-system-x86_64 is not installed"))
    func adoptAndTerminate() async throws {
        try await withRuntimeDirectory { directory in
            let vmDirectory = directory + "/vm"
            try FileManager.default.createDirectory(atPath: vmDirectory, withIntermediateDirectories: true)
            let configuration = machine(in: vmDirectory, startPaused: false)
            let pid = try await QEMU.Process().launch(configuration, logFile: vmDirectory + "/launch.log")
            defer { kill(pid, SIGKILL) }
            let found = QEMU.Process.findRunning(in: directory)
            #expect(found == [.init(directory: vmDirectory, pid: pid, name: configuration.name)])
            #expect(!QEMU.Process.isAlive(pid: pid, name: "some-other-name"))
            await QEMU.Process.terminate(pid: pid, name: configuration.name, grace: .seconds(5))
            #expect(!QEMU.Process.isAlive(pid: pid, name: configuration.name))
            #expect(QEMU.Process.findRunning(in: directory).isEmpty)
        }
    }

    @Test(
        "a launch QEMU refuses reports the end of its log",
        .enabled(if: qemuAvailable, "qemu-system-x86_64 is not installed"))
    func launchFailure() async throws {
        try await withRuntimeDirectory { directory in
            var configuration = machine(in: directory, startPaused: true)
            configuration.disks = [.init(path: directory + "/missing.qcow2", format: .qcow2)]
            do {
                _ = try await QEMU.Process().launch(configuration, logFile: directory + "/launch.log")
                Issue.record("launch with a missing disk succeeded")
            } catch QEMU.Error.launch(let message) {
                #expect(message.contains("missing.qcow2"))
            }
        }
    }

    private func machine(in directory: String, startPaused: Bool) -> QEMU.MachineConfiguration {
        let uuid = UUID().uuidString.lowercased()
        return QEMU.MachineConfiguration(
            name: "updraft-test-\(uuid)", uuid: uuid, vcpus: 1, memoryMiB: 64,
            accelerator: .tcg(reason: "test"), serialLogPath: directory + "/console.log",
            qmpSocketPath: directory + "/qmp.sock", pidFilePath: directory + "/qemu.pid", startPaused: startPaused)
    }
}

/// Runs `body` with a fresh directory under /tmp (short, for socket paths) and removes it after.
func withRuntimeDirectory(_ body: (String) async throws -> Void) async throws {
    let directory = "/tmp/qemu-test-" + UUID().uuidString.prefix(8).lowercased()
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try await body(directory)
}

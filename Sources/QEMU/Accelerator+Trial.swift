import Foundation
import HostProcess
import Logging

extension QEMU.Accelerator {
    /// What ``probe(binary:devicePath:timeout:logger:)`` decided and how long it took.
    public struct Probe: Sendable, Equatable, CustomStringConvertible {
        public var accelerator: QEMU.Accelerator
        public var elapsed: Duration

        /// One line for the start log: `accelerator kvm (guest code ran; probe took 0.21 s)`.
        public var description: String {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let took = "probe took \((seconds * 100).rounded() / 100) s"
            switch accelerator {
            case .kvm: return "accelerator kvm (a KVM guest ran code; \(took))"
            case .tcg(let reason): return "accelerator tcg (\(reason); \(took))"
            }
        }
    }

    /// Decides how guests run by running guest code: KVM only when `/dev/kvm` passes
    /// ``detect(devicePath:)`` and a trial guest under `-accel kvm -cpu host` (the CPU every
    /// guest gets) writes to its serial port within `timeout`; otherwise TCG with the reason.
    /// Never takes much longer than `timeout`: the trial QEMU is ended by SIGTERM, then SIGKILL.
    public static func probe(
        binary: String, devicePath: String = "/dev/kvm", timeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "qemu.accelerator")
    ) async -> Probe {
        let started = ContinuousClock.now
        var accelerator = detect(devicePath: devicePath)
        if case .kvm = accelerator {
            accelerator = await trial(binary: binary, timeout: timeout, logger: logger)
        }
        return Probe(accelerator: accelerator, elapsed: ContinuousClock.now - started)
    }

    /// The line the trial guest writes to its serial port once its first instructions ran.
    static let trialMarker = "UPDRAFT-KVM-OK"

    /// Boots ``trialFirmware`` under `-accel kvm -cpu host` and watches for three outcomes:
    /// the marker on the serial port (`.kvm`); QEMU exiting, or QMP reporting `internal-error`,
    /// `guest-panicked`, `io-error` or `shutdown` (`.tcg` with QEMU's words); or nothing by the
    /// deadline (`.tcg`). Whatever happens, the trial QEMU is gone when this returns.
    public static func trial(
        binary: String, timeout: Duration = .seconds(5), logger: Logger = Logger(label: "qemu.accelerator")
    ) async -> QEMU.Accelerator {
        switch await runTrial(binary: binary, accelerator: ["-accel", "kvm", "-cpu", "host"], timeout: timeout, logger: logger) {
        case .ranGuestCode: .kvm
        case .failed(let reason): .tcg(reason: reason)
        }
    }

    /// How a trial guest fared.
    enum TrialOutcome: Sendable, Equatable {
        case ranGuestCode
        case failed(String)
    }

    /// Boots ``trialFirmware`` with `accelerator` (QEMU options) and reports whether its code ran.
    static func runTrial(
        binary: String, accelerator: [String], timeout: Duration, logger: Logger
    ) async -> TrialOutcome {
        let directory: String
        do {
            directory = try HostProcess.makePrivateDirectory(prefix: "updraft-kvm-trial")
        } catch {
            return .failed("cannot try KVM: \(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let firmware = directory + "/trial.rom"
        let serial = directory + "/serial.log"
        let socket = directory + "/qmp.sock"
        let log = directory + "/qemu.log"
        guard FileManager.default.createFile(atPath: firmware, contents: trialFirmware) else {
            return .failed("cannot try KVM: cannot write \(firmware)")
        }
        let machine = [
            "-machine", "pc", "-m", "16", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-bios", firmware,
            "-chardev", "file,id=serial0,path=\(QEMU.MachineConfiguration.escape(serial))", "-serial", "chardev:serial0",
            "-chardev", "socket,id=qmp0,path=\(QEMU.MachineConfiguration.escape(socket)),server=on,wait=off",
            "-mon", "chardev=qmp0,mode=control",
        ]
        let arguments = ["-name", "updraft-kvm-trial"] + accelerator + machine
        let child: HostProcess.Child
        do {
            child = try HostProcess.spawn(binary, arguments, options: .init(output: .truncate(log)))
        } catch {
            return .failed("cannot start \(binary) to try KVM: \(error)")
        }
        let result = await watch(child, serial: serial, socket: socket, log: log, timeout: timeout, logger: logger)
        if await child.terminate(grace: .seconds(1)) == nil {
            logger.error("the KVM trial QEMU survived SIGKILL", metadata: ["pid": "\(child.pid)"])
        }
        return result
    }

    private static func watch(
        _ child: HostProcess.Child, serial: String, socket: String, log: String, timeout: Duration, logger: Logger
    ) async -> TrialOutcome {
        let deadline = ContinuousClock.now + timeout
        // QMP is asked only once QEMU has been up a moment: one that aborts at start (a vCPU it
        // cannot set up) may have its socket open but never greet, and is gone by then.
        let askQMPAfter = ContinuousClock.now + .milliseconds(300)
        var monitor: QEMU.Monitor?
        var verdict: TrialOutcome?
        while verdict == nil && ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            if let output = FileManager.default.contents(atPath: serial),
                String(decoding: output, as: UTF8.self).contains(trialMarker)
            {
                verdict = .ranGuestCode
            } else if child.hasExited {
                let said = firstError(in: log) ?? "it exited at once"
                verdict = .failed("QEMU cannot run a KVM guest here: \(said)")
            } else if monitor == nil {
                if ContinuousClock.now >= askQMPAfter, QEMU.Process.canConnect(socket) {
                    monitor = try? await QEMU.Monitor.connect(
                        socketPath: socket, timeout: min(.milliseconds(250), left), logger: logger)
                }
            } else if let answer = try? await monitor?.execute("query-status", timeout: min(.seconds(1), left)),
                let name = answer["status"]?.string
            {
                let state = QEMU.RunState(qmpName: name)
                if state.crashed || state == .shutdown {
                    let said = firstError(in: log).map { ": \($0)" } ?? ""
                    verdict = .failed("a KVM guest stopped at once in state \(name)\(said)")
                }
            }
            if verdict == nil {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        await monitor?.close()
        return verdict ?? .failed("a KVM guest ran no code within \(timeout)")
    }

    /// The first line QEMU wrote that reads like an error, else its first line.
    static func firstError(in log: String) -> String? {
        guard let data = FileManager.default.contents(atPath: log) else { return nil }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        return lines.first { $0.localizedCaseInsensitiveContains("error") } ?? lines.first
    }

    /// A 64 KiB PC firmware image that prints ``trialMarker`` on COM1 and halts. The x86 reset
    /// vector (the image's last 16 bytes, run in real mode at F000:FFF0) jumps to the code at
    /// offset 0, which writes the string at offset 0x20 to port 0x3F8 byte by byte.
    static let trialFirmware: Data = {
        var image = [UInt8](repeating: 0xF4, count: 0x10000)  // hlt everywhere else
        let code: [UInt8] = [
            0xBA, 0xF8, 0x03,  // mov dx, 0x3f8
            0xBE, 0x20, 0x00,  // mov si, 0x20
            0x2E, 0xAC,  // cs lodsb
            0x84, 0xC0,  // test al, al
            0x74, 0x03,  // jz halt
            0xEE,  // out dx, al
            0xEB, 0xF7,  // jmp to lodsb
            0xF4,  // halt: hlt
            0xEB, 0xFD,  // jmp halt
        ]
        image.replaceSubrange(0..<code.count, with: code)
        let message = Array((trialMarker + "\n").utf8) + [0]
        image.replaceSubrange(0x20..<(0x20 + message.count), with: message)
        image.replaceSubrange(0xFFF0..<0xFFF3, with: [0xE9, 0x0D, 0x00])  // jmp near 0x0000
        return Data(image)
    }()
}

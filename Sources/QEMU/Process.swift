import Foundation
import HostProcess
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension QEMU {
    /// Launches and tracks QEMU processes. A VM runs daemonized (`-daemonize`, its own
    /// session) with a pid file, so it outlives `updraft`; later the VM is found again by
    /// its pid file and recognised by its `-name` in `/proc/PID/cmdline`, never by pid alone.
    public struct Process: Sendable {
        /// A QEMU process found running from its pid file.
        public struct Running: Sendable, Equatable {
            /// The runtime directory holding the pid file.
            public var directory: String
            public var pid: Int32
            /// The VM's `-name`.
            public var name: String
        }

        /// The validated path of `qemu-system-x86_64` (or whichever binary was given).
        public let binary: String
        private let logger: Logger

        /// Finds the QEMU binary (a bare name is looked up in ``HostProcess/defaultSearchPath``).
        public init(binary: String = "qemu-system-x86_64", logger: Logger = Logger(label: "qemu.process")) throws {
            self.binary = try QEMU.locateBinary(binary)
            self.logger = logger
        }

        /// Starts the VM `configuration` describes and returns its pid once its QMP socket
        /// accepts connections. The launcher's output is appended to `logFile`; on failure the
        /// error carries the last lines of it. `descriptors` are handed to QEMU as 3, 4, ... (the
        /// taps of NICs that name ``MachineConfiguration/NIC/Tap/descriptor(_:)``).
        public func launch(
            _ configuration: MachineConfiguration, logFile: String, descriptors: [Int32] = [],
            timeout: Duration = .seconds(30)
        ) async throws -> Int32 {
            guard configuration.daemonize else {
                throw Error.invalidConfiguration("launch needs a daemonized machine")
            }
            guard configuration.qmpSocketPath.utf8.count < 108 else {
                throw Error.invalidConfiguration("QMP socket path longer than 107 bytes: \(configuration.qmpSocketPath)")
            }
            let arguments = configuration.arguments()
            try Self.appendLog(logFile, "\(Date()) launching \(binary) \(arguments.joined(separator: " "))\n")
            let launcher: HostProcess.Child
            do {
                launcher = try HostProcess.spawn(
                    binary, arguments, options: .init(output: .append(logFile), inherit: descriptors))
            } catch {
                throw Error.launch("\(error)")
            }
            // The launcher exits once the daemonized QEMU is set up; one that does not within
            // the launch timeout is stopped, and so is anything it left in its process group.
            guard let status = await launcher.wait(timeout: timeout) else {
                await launcher.terminate(grace: .seconds(2))
                throw Error.timeout("QEMU did not daemonize within \(timeout): \(Self.tail(of: logFile, lines: 10))")
            }
            guard status == .exited(0) else {
                throw Error.launch("\(status): \(Self.tail(of: logFile, lines: 10))")
            }
            guard let pid = Self.readPID(configuration.pidFilePath) else {
                throw Error.launch("no pid in \(configuration.pidFilePath): \(Self.tail(of: logFile, lines: 10))")
            }
            try await Self.waitUntilAccepting(configuration.qmpSocketPath, timeout: timeout)
            logger.info("QEMU started", metadata: ["name": "\(configuration.name)", "pid": "\(pid)"])
            return pid
        }

        /// Whether `pid` is a live process whose command line has `-name name`. A reused pid
        /// of some other program, or a zombie, is not alive; a QEMU still tearing down (its
        /// memory gone, its sockets and pid-file lock not yet released) still is. Reaps `pid`
        /// first if it is our own exited child.
        public static func isAlive(pid: Int32, name: String) -> Bool {
            guard pid > 0 else { return false }
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            guard kill(pid, 0) == 0 || errno == EPERM, let stat = kernelStatus(pid: pid) else { return false }
            if stat.state == "Z" || stat.state == "X" {
                // The main thread can be a zombie while other threads still hold the
                // process's descriptors (its sockets, its pid-file lock).
                let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"))?.count ?? 0
                return threads > 1
            }
            if let running = processName(pid: pid) {
                return running == name
            }
            // The kernel drops the command line (with the memory) before closing descriptors.
            let exiting: UInt = 0x4  // PF_EXITING
            return stat.flags & exiting != 0
        }

        /// The state letter and flags from `/proc/PID/stat`.
        static func kernelStatus(pid: Int32) -> (state: Character, flags: UInt)? {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
            let text = String(decoding: data, as: UTF8.self)
            guard let close = text.lastIndex(of: ")") else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 6, let state = fields[0].first, let flags = UInt(fields[6]) else { return nil }
            return (state, flags)
        }

        /// The `-name` of the QEMU process `pid`, from `/proc/PID/cmdline`; nil when the process
        /// is gone, a zombie, or has no `-name`.
        public static func processName(pid: Int32) -> String? {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else {
                return nil
            }
            let arguments = data.split(separator: 0, omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard let index = arguments.firstIndex(of: "-name"), index + 1 < arguments.count else { return nil }
            var value = arguments[index + 1]
            if value.hasPrefix("guest=") {
                value.removeFirst("guest=".count)
            }
            return value.replacingOccurrences(of: ",,", with: ",")
        }

        /// Every QEMU still running from a pid file `pidFileName` in a subdirectory of
        /// `directory` (one directory per VM), for adopting VMs after `updraft` restarts.
        public static func findRunning(in directory: String, pidFileName: String = "qemu.pid") -> [Running] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return entries.sorted().compactMap { entry in
                let runtime = directory + "/" + entry
                guard let pid = readPID(runtime + "/" + pidFileName), let name = processName(pid: pid),
                    isAlive(pid: pid, name: name)
                else { return nil }
                return Running(directory: runtime, pid: pid, name: name)
            }
        }

        /// Ends the VM `pid` if it still is the process named `name`: SIGTERM, then SIGKILL
        /// after `grace`. Returns once it is gone (or after five more seconds of SIGKILL).
        public static func terminate(pid: Int32, name: String, grace: Duration) async {
            guard isAlive(pid: pid, name: name) else { return }
            kill(pid, SIGTERM)
            if await waitForExit(pid: pid, name: name, timeout: grace) {
                return
            }
            kill(pid, SIGKILL)
            _ = await waitForExit(pid: pid, name: name, timeout: .seconds(5))
        }

        /// Polls until the process is gone; true if it went within `timeout`.
        public static func waitForExit(pid: Int32, name: String, timeout: Duration) async -> Bool {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            while isAlive(pid: pid, name: name) {
                if clock.now >= deadline {
                    return false
                }
                try? await Task.sleep(for: .milliseconds(25))
            }
            return true
        }

        /// QEMU's version from `--version` (`QEMU emulator version 7.2.22 (...)`).
        public func version() async throws -> (major: Int, minor: Int, micro: Int) {
            let output = try await QEMU.runChecked(binary, ["--version"], timeout: .seconds(10))
            let text = String(decoding: output, as: UTF8.self)
            guard let range = text.range(of: "version ") else {
                throw Error.tool(program: "qemu-system", status: 0, output: "no version in: \(text)")
            }
            let numbers = text[range.upperBound...].prefix { $0.isNumber || $0 == "." }.split(separator: ".")
                .map { Int($0) ?? 0 }
            return (numbers.first ?? 0, numbers.count > 1 ? numbers[1] : 0, numbers.count > 2 ? numbers[2] : 0)
        }

        static func readPID(_ path: String) -> Int32? {
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            return Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }

        /// The last `lines` lines of a log file, joined with ` | `, for error messages.
        static func tail(of path: String, lines: Int) -> String {
            let text = HostProcess.tail(of: path, lines: lines)
            return text.isEmpty ? "(no log)" : text
        }

        private static func appendLog(_ path: String, _ text: String) throws {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
                else { throw Error.launch("cannot create \(path)") }
            }
            guard let handle = FileHandle(forWritingAtPath: path) else { throw Error.launch("cannot open \(path)") }
            defer { try? handle.close() }
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
        }

        /// Polls a Unix socket with plain `connect` until it accepts, then hangs up.
        static func waitUntilAccepting(_ path: String, timeout: Duration) async throws {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            while !canConnect(path) {
                if clock.now >= deadline {
                    throw Error.timeout("QMP socket \(path) did not accept within \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(25))
            }
        }

        static func canConnect(_ path: String) -> Bool {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                buffer.copyBytes(from: bytes)
            }
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            return result == 0
        }
    }
}

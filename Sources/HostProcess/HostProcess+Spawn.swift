import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension HostProcess {
    /// Where a program's standard input comes from.
    public enum Input: Sendable, Equatable {
        case null
        case file(String)
    }

    /// Where a program's standard output or error goes.
    public enum Output: Sendable, Equatable {
        case null
        /// Appended to, created 0600 if missing.
        case append(String)
        /// Replaced, created 0600 if missing.
        case truncate(String)
    }

    /// How to start a program.
    public struct Options: Sendable {
        /// The whole environment; ``minimalEnvironment`` by default.
        public var environment: [String: String]
        /// The working directory; the caller's when nil.
        public var directory: String?
        public var input: Input
        public var output: Output
        /// Standard error; nil sends it where standard output goes.
        public var errorOutput: Output?
        /// Open descriptors of the caller handed to the child as 3, 4, ... in this order (a tap
        /// QEMU is to use); every other descriptor above 2 is still closed.
        public var inherit: [Int32]

        public init(
            environment: [String: String] = HostProcess.minimalEnvironment, directory: String? = nil,
            input: Input = .null, output: Output = .null, errorOutput: Output? = nil, inherit: [Int32] = []
        ) {
            self.environment = environment
            self.directory = directory
            self.input = input
            self.output = output
            self.errorOutput = errorOutput
            self.inherit = inherit
        }
    }

    /// Starts `executable` (an absolute path, see ``locate(_:searchPath:)``) in a new session
    /// with a clean signal state: an empty signal mask and default dispositions. Both are
    /// inherited across `exec`, and a program that inherits the SIGTERM Swift's threads
    /// block never handles it. Descriptors other than 0, 1 and 2 are closed in the child.
    ///
    /// `Foundation.Process` is not used: it passes on the caller's signal mask, and it learns
    /// of a child's exit from a socket the child inherits, which a daemon keeps open for life.
    public static func spawn(_ executable: String, _ arguments: [String], options: Options = Options()) throws -> Child {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        let setSID: Int32 = 0x80  // POSIX_SPAWN_SETSID, a GNU extension the importer leaves out
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | setSID))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch options.input {
        case .null: posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .file(let path): posix_spawn_file_actions_addopen(&actions, 0, path, O_RDONLY, 0)
        }
        redirect(options.output, as: 1, &actions)
        if let errorOutput = options.errorOutput {
            redirect(errorOutput, as: 2, &actions)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Two steps, so a descriptor that already has a low number is not overwritten before it is copied.
        let parking: Int32 = 512
        for (index, descriptor) in options.inherit.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, descriptor, parking + Int32(index))
        }
        for index in options.inherit.indices {
            posix_spawn_file_actions_adddup2(&actions, parking + Int32(index), 3 + Int32(index))
        }
        _ = closeFrom(&actions, 3 + Int32(options.inherit.count))
        if let directory = options.directory {
            guard addChdir(&actions, directory) == 0 else {
                throw Error.launch(program: executable, reason: "cannot change to \(directory)")
            }
        }

        let environment = options.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        var result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        // ETXTBSY: a file just written (a script, a freshly installed binary) is briefly held
        // open for writing by a child another thread is starting; it clears within microseconds.
        var retries = 0
        while result == ETXTBSY && retries < 20 {
            retries += 1
            usleep(1000)
            result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        }
        guard result == 0 else {
            throw Error.launch(program: executable, reason: String(cString: strerror(result)))
        }
        return Child(pid: pid, executable: executable)
    }

    private static func redirect(_ output: Output, as descriptor: Int32, _ actions: inout posix_spawn_file_actions_t) {
        switch output {
        case .null:
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
        case .append(let path):
            posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        case .truncate(let path):
            posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_TRUNC | O_CREAT, 0o600)
        }
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the importer hides
/// behind `__USE_MISC`: closes every descriptor from `lowest` up in the child, so nothing
/// `updraft` holds open leaks into a program that may live for weeks.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32

/// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), hidden from the importer the same way.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>)
    -> Int32

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension QEMU {
    /// Starts `executable` in a new session with a clean signal state: an empty signal
    /// mask and default dispositions. Both are inherited across `exec`, and a QEMU that
    /// inherits a blocked SIGTERM (as Swift's runtime threads have) never handles it.
    /// stdin is /dev/null; stdout and stderr append to `logPath`; no other descriptor leaks.
    ///
    /// `Foundation.Process` is not used here: it learns of a child's exit from a socket the
    /// child inherits, and a daemonized QEMU keeps that socket open for its whole life.
    static func spawn(_ executable: String, _ arguments: [String], logPath: String) throws -> pid_t {
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
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        _ = closeFrom(&actions, 3)

        let environment = minimalEnvironment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw Error.launch("posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits for our child `pid` to exit without blocking a thread, and returns its exit
    /// status (128 + signal number when a signal ended it).
    static func waitForChild(_ pid: pid_t) async -> Int32 {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            if result < 0 && errno != EINTR {
                return -1
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the importer hides
/// behind `__USE_MISC`: closes every descriptor from `lowest` up in the child, so nothing
/// `updraft` holds open leaks into a QEMU that lives for weeks.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32

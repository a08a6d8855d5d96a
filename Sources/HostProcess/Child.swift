import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension HostProcess {
    /// How a program ended.
    public enum Status: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        /// The shell's convention: the exit code, or 128 + the signal number.
        public var code: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): 128 + signal
            }
        }

        public var description: String {
            switch self {
            case .exited(let code): "exit status \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }

        init(waitStatus status: Int32) {
            let signal = status & 0x7f
            self = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        }
    }

    /// A program this process started with ``HostProcess/spawn(_:_:options:)``: the leader of
    /// its own session and process group. Every wait has a deadline; ending it signals the
    /// whole group, so helpers it started go too.
    public struct Child: Sendable {
        public let pid: pid_t
        /// The path that was run.
        public let executable: String

        /// Whether it has exited (without reaping it, so its pid and group stay ours).
        public var hasExited: Bool {
            var info = siginfo_t()
            let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            // With WNOHANG and nothing to report, the kernel leaves `info` zeroed.
            return result == 0 ? info.si_signo == SIGCHLD : errno == ECHILD
        }

        /// Waits up to `timeout` for it to exit; then SIGKILLs what is left of its process
        /// group (a helper it forked and left behind) and reaps it. Nil when it still runs.
        public func wait(timeout: Duration) async -> Status? {
            let deadline = ContinuousClock.now + timeout
            var pause = Duration.milliseconds(2)
            while !hasExited {
                if ContinuousClock.now >= deadline { return nil }
                try? await Task.sleep(for: min(pause, deadline - ContinuousClock.now))
                pause = min(pause * 2, .milliseconds(50))
            }
            return reap()
        }

        /// SIGTERM to its process group, up to `grace` to exit, then SIGKILL. Returns how it
        /// ended, or nil if it outlived even SIGKILL's five seconds (a process stuck in the kernel).
        @discardableResult
        public func terminate(grace: Duration) async -> Status? {
            if hasExited { return reap() }
            signalGroup(SIGTERM)
            if let status = await wait(timeout: grace) { return status }
            signalGroup(SIGKILL)
            return await wait(timeout: .seconds(5))
        }

        /// Sends `signal` to its process group (to it alone if it has left its group).
        public func signalGroup(_ signal: Int32) {
            if kill(-pid, signal) != 0 {
                kill(pid, signal)
            }
        }

        /// Kills what remains of the group while the exited leader still holds the group id,
        /// then reaps the leader.
        private func reap() -> Status? {
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            while true {
                let result = waitpid(pid, &status, 0)
                if result == pid { return Status(waitStatus: status) }
                if result < 0 && errno != EINTR { return nil }
            }
        }
    }
}

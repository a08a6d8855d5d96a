extension HostProcess {
    /// What can go wrong starting or waiting for a program. Callers map these to their own errors.
    public enum Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        /// The binary is missing or not executable.
        case notFound(String)
        /// The program could not be started; `reason` says why.
        case launch(program: String, reason: String)
        /// The program did not finish within `after`; it was ended (SIGTERM, then SIGKILL).
        /// `output` is the end of what it wrote to standard error.
        case timedOut(program: String, after: Duration, output: String)
        /// A system call failed; the text names it and `errno`'s meaning.
        case system(String)

        /// A one-line account for logs and user-facing messages.
        public var description: String {
            switch self {
            case .notFound(let name): "\(name) not found or not executable"
            case .launch(let program, let reason): "cannot start \(program): \(reason)"
            case .timedOut(let program, let after, let output):
                "\(program) did not finish within \(after) and was stopped" + (output.isEmpty ? "" : ": \(output)")
            case .system(let what): what
            }
        }
    }
}

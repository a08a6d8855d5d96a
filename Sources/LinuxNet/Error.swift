extension LinuxNet {
    /// What went wrong driving the host's networking.
    public enum Error: Swift.Error, Sendable, CustomStringConvertible, Equatable {
        /// A program was not found on the fixed search path.
        case programNotFound(String)
        /// A program ran and failed: its exit status and what it said.
        case command(program: String, arguments: [String], status: Int32, output: String)
        /// A program did not finish within its deadline.
        case timeout(String)
        /// A name Updraft would make is not a valid, prefixed interface or namespace name.
        case invalidName(String)
        /// A system call failed.
        case system(String)

        public var description: String {
            switch self {
            case .programNotFound(let name): "\(name) is not installed (looked on the fixed search path)"
            case .command(let program, let arguments, let status, let output):
                "\(program) \(arguments.joined(separator: " ")) failed with status \(status): \(output)"
            case .timeout(let what): "timed out: \(what)"
            case .invalidName(let name): "invalid name \(name)"
            case .system(let what): what
            }
        }
    }
}

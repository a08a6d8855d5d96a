extension GuestImage {
    /// Why a build failed, each with a message an operator can act on.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// A program the build runs is not installed.
        case missingTool(program: String, package: String)
        /// A file another Debian package provides is not installed.
        case missingFile(path: String, package: String)
        /// A program ran and failed.
        case toolFailed(program: String, status: Int32, stderr: String)
        /// apt could not fetch a package, or a package lacks what the recipe needs.
        case package(String)
        /// The unpacked kernel lacks a module the guest needs.
        case missingModule(String)

        /// One line, naming the apt package to install where that is the fix.
        public var description: String {
            switch self {
            case .missingTool(let program, let package):
                return "\(program) not found; install it with: apt-get install \(package)"
            case .missingFile(let path, let package):
                return "\(path) not found; install it with: apt-get install \(package)"
            case .toolFailed(let program, let status, let stderr):
                let detail = stderr.split(whereSeparator: \.isNewline).suffix(3).joined(separator: " / ")
                return "\(program) exited with status \(status): \(detail.isEmpty ? "(no output)" : detail)"
            case .package(let message):
                return message
            case .missingModule(let name):
                return "kernel module \(name) is neither built in nor in the kernel package"
            }
        }
    }
}

extension QEMU {
    /// What can go wrong talking to QEMU or its tools. Callers map these to their own errors.
    public enum Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        /// QEMU answered a QMP command with an error (`GenericError`, `CommandNotFound`, ...).
        case qmp(class: String, description: String)
        /// Something did not happen before its deadline; the text says what.
        case timeout(String)
        /// The QEMU process ended (or closed its monitor) while we waited on it.
        case processExited
        /// QEMU could not be started; the text carries the end of its launch log.
        case launch(String)
        /// A helper program (`qemu-img`, `genisoimage`) failed; the text carries its stderr.
        case tool(program: String, status: Int32, output: String)
        /// A binary is missing or not executable.
        case binaryNotFound(String)
        /// The monitor sent something that is not QMP.
        case protocolViolation(String)
        /// A configuration QEMU cannot be given (a socket path too long, a bad name).
        case invalidConfiguration(String)
        /// A system call failed; the text names it and `errno`'s meaning.
        case system(String)
        /// The guest crashed (``RunState/crashed``) while QEMU waited on it to do something.
        case guestCrashed(RunState)

        /// A one-line account of the error for logs and user-facing messages.
        public var description: String {
            switch self {
            case .qmp(let errorClass, let description): "QMP \(errorClass): \(description)"
            case .timeout(let what): "timed out: \(what)"
            case .processExited: "the QEMU process exited"
            case .launch(let log): "QEMU failed to start: \(log)"
            case .tool(let program, let status, let output): "\(program) exited with \(status): \(output)"
            case .binaryNotFound(let name): "\(name) not found or not executable"
            case .protocolViolation(let what): "unexpected QMP message: \(what)"
            case .invalidConfiguration(let what): "invalid QEMU configuration: \(what)"
            case .system(let what): what
            case .guestCrashed(let state): "the guest stopped in state \(state)"
            }
        }
    }
}

extension QEMU {
    /// QEMU's run state as `query-status` reports it.
    public enum RunState: Sendable, Equatable, CustomStringConvertible {
        case debug
        case finishMigrate
        case guestPanicked
        case inMigrate
        case internalError
        case ioError
        case paused
        case postMigrate
        case prelaunch
        case restoreVM
        case running
        case saveVM
        case shutdown
        case suspended
        case watchdog
        case colo
        /// A state this client does not know by name.
        case other(String)

        private static let names: [(String, RunState)] = [
            ("debug", .debug), ("finish-migrate", .finishMigrate), ("guest-panicked", .guestPanicked),
            ("inmigrate", .inMigrate), ("internal-error", .internalError), ("io-error", .ioError),
            ("paused", .paused), ("postmigrate", .postMigrate), ("prelaunch", .prelaunch),
            ("restore-vm", .restoreVM), ("running", .running), ("save-vm", .saveVM), ("shutdown", .shutdown),
            ("suspended", .suspended), ("watchdog", .watchdog), ("colo", .colo),
        ]

        /// The state named `name` in QMP's spelling (`inmigrate`, `guest-panicked`, ...).
        public init(qmpName name: String) {
            self = Self.names.first { $0.0 == name }?.1 ?? .other(name)
        }

        /// Whether the guest's vCPUs can no longer run: the hypervisor failed them
        /// (`internal-error`), the guest's kernel panicked, or a disk write failed on the host.
        public var crashed: Bool { self == .internalError || self == .guestPanicked || self == .ioError }

        /// The QMP spelling.
        public var description: String {
            if case .other(let name) = self { return name }
            return Self.names.first { $0.1 == self }?.0 ?? "unknown"
        }
    }
}

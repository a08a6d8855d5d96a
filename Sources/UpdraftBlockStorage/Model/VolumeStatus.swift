/// A volume's `status`, with Cinder's names.
public enum VolumeStatus: String, Sendable, Codable, CaseIterable {
    case creating, available, reserved, attaching, detaching
    case inUse = "in-use"
    case maintenance, deleting
    case awaitingTransfer = "awaiting-transfer"
    case error
    case errorDeleting = "error_deleting"
    case backingUp = "backing-up"
    case restoringBackup = "restoring-backup"
    case errorBackingUp = "error_backing-up"
    case errorRestoring = "error_restoring"
    case errorExtending = "error_extending"
    case downloading, uploading, retyping, extending
}

/// A snapshot's `status`, with Cinder's names.
public enum SnapshotStatus: String, Sendable, Codable, CaseIterable {
    case creating, available, deleting, error
    case errorDeleting = "error_deleting"
    case backingUp = "backing-up"
    case restoring
}

/// An attachment's `attach_status`, with Cinder's names.
public enum AttachmentStatus: String, Sendable, Codable, CaseIterable {
    case reserved, attaching, attached, detaching, detached
    case errorAttaching = "error_attaching"
    case errorDetaching = "error_detaching"
}

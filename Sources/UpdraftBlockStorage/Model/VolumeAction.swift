import UpdraftCore

/// Every operation on a volume that depends on its status, with Cinder's rules for when it
/// is allowed. One exhaustive `switch` decides; a test asks every action in every status.
public enum VolumeAction: String, Sendable, CaseIterable {
    case delete, extend, extendAttached, snapshot, reserve, beginDetach, uploadToImage, transfer, backup, retype
    case update, setBootable, setReadOnly, clone

    /// The statuses a volume must be in.
    public var allowedStatuses: Set<VolumeStatus> {
        switch self {
        case .delete: [.available, .error, .errorRestoring, .errorExtending, .errorDeleting]
        case .extend: [.available]
        case .extendAttached: [.available, .inUse]
        case .snapshot: [.available, .inUse]
        case .reserve: [.available]
        case .beginDetach: [.inUse]
        case .uploadToImage: [.available, .inUse]
        case .transfer: [.available]
        case .backup: [.available, .inUse]
        case .retype: [.available, .inUse]
        case .update, .setBootable: Set(VolumeStatus.allCases)
        case .setReadOnly: [.available, .inUse]
        case .clone: [.available, .inUse]
        }
    }

    /// What the action is called in Cinder's refusal.
    var verb: String {
        switch self {
        case .delete: "deleted"
        case .extend, .extendAttached: "extended"
        case .snapshot: "snapshotted"
        case .reserve: "attached"
        case .beginDetach: "detached"
        case .uploadToImage: "uploaded to an image"
        case .transfer: "transferred"
        case .backup: "backed up"
        case .retype: "retyped"
        case .update: "updated"
        case .setBootable: "changed"
        case .setReadOnly: "changed"
        case .clone: "cloned"
        }
    }

    /// Throws Cinder's 400 `Invalid volume` unless a volume in `status` may do this.
    public func check(_ status: VolumeStatus, volume id: String) throws(UpdraftError) {
        guard allowedStatuses.contains(status) else {
            let allowed = allowedStatuses.map(\.rawValue).sorted().joined(separator: " or ")
            throw UpdraftError(
                .badRequest,
                "Invalid volume: Volume \(id) is \(status.rawValue) and cannot be \(verb); its status must be \(allowed).")
        }
    }
}

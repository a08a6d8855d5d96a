/// Nova's `vm_state`: what the instance is, as far as the user is concerned.
public enum VMState: String, Sendable, Codable, CaseIterable {
    case building, active, paused, suspended, stopped, resized, shelved
    case shelvedOffloaded = "shelved_offloaded"
    case error, deleted
}

/// Nova's `task_state`: the operation in progress, if any.
public enum TaskState: String, Sendable, Codable, CaseIterable {
    case scheduling, spawning, networking
    case imageSnapshot = "image_snapshot"
    case imagePendingUpload = "image_pending_upload"
    case imageUploading = "image_uploading"
    case resizePrep = "resize_prep"
    case resizeMigrating = "resize_migrating"
    case resizeFinish = "resize_finish"
    case resizeReverting = "resize_reverting"
    case resizeConfirming = "resize_confirming"
    case rebooting
    case rebootingHard = "rebooting_hard"
    case pausing, unpausing, suspending, resuming
    case poweringOff = "powering-off"
    case poweringOn = "powering-on"
    case rebuilding
    case rebuildSpawning = "rebuild_spawning"
    case deleting, shelving
    case shelvingImageUploading = "shelving_image_uploading"
    case shelvingOffloading = "shelving_offloading"
    case unshelving
}

/// The `status` a user sees, derived from vm_state and task_state as Nova's API does.
public enum ServerStatus {
    public static func of(_ vm: VMState, _ task: TaskState?) -> String {
        switch vm {
        case .building: return "BUILD"
        case .active:
            switch task {
            case .rebooting: return "REBOOT"
            case .rebootingHard: return "HARD_REBOOT"
            case .rebuilding, .rebuildSpawning: return "REBUILD"
            case .resizePrep, .resizeMigrating, .resizeFinish: return "RESIZE"
            default: return "ACTIVE"
            }
        case .stopped:
            switch task {
            case .resizePrep, .resizeMigrating, .resizeFinish: return "RESIZE"
            case .rebuilding, .rebuildSpawning: return "REBUILD"
            default: return "SHUTOFF"
            }
        case .resized: return task == .resizeReverting ? "REVERT_RESIZE" : "VERIFY_RESIZE"
        case .paused: return "PAUSED"
        case .suspended: return "SUSPENDED"
        case .shelved: return "SHELVED"
        case .shelvedOffloaded: return "SHELVED_OFFLOADED"
        case .error: return task == .rebuilding || task == .rebuildSpawning ? "REBUILD" : "ERROR"
        case .deleted: return "DELETED"
        }
    }

    /// The vm_states a `status` filter means (`?status=ACTIVE`), or nil when Nova does not know it.
    public static func vmStates(for status: String) -> [VMState]? {
        switch status.uppercased() {
        case "BUILD": [.building]
        case "ACTIVE", "REBOOT", "HARD_REBOOT", "REBUILD": [.active]
        case "SHUTOFF": [.stopped]
        case "RESIZE": [.active, .stopped]
        case "VERIFY_RESIZE", "REVERT_RESIZE": [.resized]
        case "PAUSED": [.paused]
        case "SUSPENDED": [.suspended]
        case "SHELVED": [.shelved]
        case "SHELVED_OFFLOADED": [.shelvedOffloaded]
        case "ERROR": [.error]
        case "DELETED": [.deleted]
        default: nil
        }
    }
}

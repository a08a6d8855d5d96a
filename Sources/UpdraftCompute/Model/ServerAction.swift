import UpdraftCore

/// Every operation on a server that depends on its state, with Nova's rules for when it
/// is allowed. One exhaustive `switch` decides; a test asks every action in every state.
public enum ServerAction: String, Sendable, CaseIterable {
    case stop, start, softReboot, hardReboot, pause, unpause, suspend, resume
    case shelve, shelveOffload, unshelve, createImage, rebuild, resize, confirmResize, revertResize
    case delete, consoleOutput, remoteConsole

    /// The name Nova uses in its 409 message and in `os-instance-actions`.
    public var novaName: String {
        switch self {
        case .stop: "stop"
        case .start: "start"
        case .softReboot, .hardReboot: "reboot"
        case .pause: "pause"
        case .unpause: "unpause"
        case .suspend: "suspend"
        case .resume: "resume"
        case .shelve: "shelve"
        case .shelveOffload: "shelveOffload"
        case .unshelve: "unshelve"
        case .createImage: "createImage"
        case .rebuild: "rebuild"
        case .resize: "resize"
        case .confirmResize: "confirmResize"
        case .revertResize: "revertResize"
        case .delete: "delete"
        case .consoleOutput: "os-getConsoleOutput"
        case .remoteConsole: "os-getVNCConsole"
        }
    }

    /// The task_state the action sets while it runs; nil for the reads, which set none.
    var taskState: TaskState? {
        switch self {
        case .stop: .poweringOff
        case .start: .poweringOn
        case .softReboot: .rebooting
        case .hardReboot: .rebootingHard
        case .pause: .pausing
        case .unpause: .unpausing
        case .suspend: .suspending
        case .resume: .resuming
        case .shelve: .shelving
        case .shelveOffload: .shelvingOffloading
        case .unshelve: .unshelving
        case .createImage: .imageSnapshot
        case .rebuild: .rebuilding
        case .resize: .resizePrep
        case .confirmResize: .resizeConfirming
        case .revertResize: .resizeReverting
        case .delete: .deleting
        case .consoleOutput, .remoteConsole: nil
        }
    }

    /// True when Nova accepts this action for an instance in `vm` with `task` in progress.
    public func allowed(_ vm: VMState, _ task: TaskState?) -> Bool {
        switch self {
        case .delete:
            // Delete wins over anything, a delete under way included (Nova answers it again).
            return vm != .deleted
        case .softReboot:
            return vm == .active && (task == nil || task == .rebooting)
        case .hardReboot:
            return [.active, .stopped, .paused, .suspended, .error].contains(vm)
                && (task == nil || task == .rebooting || task == .rebootingHard)
        case .consoleOutput:
            return task != .deleting && ![.building, .shelvedOffloaded, .deleted].contains(vm)
        case .remoteConsole:
            return [.active, .paused].contains(vm) && task != .deleting
        default:
            guard task == nil else { return false }
            return allowedStates.contains(vm)
        }
    }

    /// The vm_states an idle instance must be in.
    var allowedStates: Set<VMState> {
        switch self {
        case .stop: [.active, .error]
        case .start: [.stopped]
        case .pause: [.active]
        case .unpause: [.paused]
        case .suspend: [.active]
        case .resume: [.suspended]
        case .shelve: [.active, .stopped, .paused, .suspended]
        case .shelveOffload: [.shelved]
        case .unshelve: [.shelved, .shelvedOffloaded]
        case .createImage: [.active, .stopped, .paused, .suspended]
        case .rebuild: [.active, .stopped, .error]
        case .resize: [.active, .stopped]
        case .confirmResize, .revertResize: [.resized]
        case .delete, .softReboot, .hardReboot, .consoleOutput, .remoteConsole: []
        }
    }

    /// Throws Nova's 409 unless the action is allowed.
    public func check(_ vm: VMState, _ task: TaskState?, id: String) throws(UpdraftError) {
        guard allowed(vm, task) else {
            let state = task.map { "task_state \($0.rawValue)" } ?? "vm_state \(vm.rawValue)"
            throw .conflict("Cannot '\(novaName)' instance \(id) while it is in \(state)")
        }
    }
}

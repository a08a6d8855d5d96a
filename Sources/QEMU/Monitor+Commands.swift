import Foundation

extension QEMU.Monitor {
    /// The VM's run state (`query-status`).
    public func status() async throws -> QEMU.RunState {
        let answer = try await execute("query-status")
        guard let name = answer["status"]?.string else {
            throw QEMU.Error.protocolViolation("query-status without status: \(answer)")
        }
        return QEMU.RunState(qmpName: name)
    }

    /// Stops the vCPUs; memory stays resident (`stop`).
    public func stop() async throws {
        try await execute("stop")
    }

    /// Resumes the vCPUs (`cont`).
    public func cont() async throws {
        try await execute("cont")
    }

    /// Presses the ACPI power button; the guest decides whether to shut down (`system_powerdown`).
    public func systemPowerdown() async throws {
        try await execute("system_powerdown")
    }

    /// Resets the machine as the reset button would (`system_reset`).
    public func systemReset() async throws {
        try await execute("system_reset")
    }

    /// Ends QEMU at once (`quit`). A socket that closes before the answer counts as success.
    public func quit() async throws {
        do {
            try await execute("quit")
        } catch QEMU.Error.processExited {
            return
        }
    }

    /// Saves the VM's memory and device state to `path` and leaves the VM stopped: `stop`,
    /// then migration to `exec:cat > path` (QEMU 7.2 has no `file:` URI), polling
    /// `query-migrate` until it completes. The caller ends the process afterwards.
    public func saveMemory(toFile path: String, timeout: Duration = .seconds(300)) async throws {
        try await stop()
        try await execute("migrate-set-parameters", arguments: ["max-bandwidth": .int(Int64(1) << 40)])
        try await execute("migrate", arguments: ["uri": .string("exec:cat > \(QEMU.shellQuote(path))")])
        try await waitForMigration(timeout: timeout)
    }

    /// Polls `query-migrate` until the outgoing migration completes; a failed or cancelled
    /// one throws with QEMU's reason.
    public func waitForMigration(timeout: Duration = .seconds(300)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let answer = try await execute("query-migrate")
            switch answer["status"]?.string {
            case "completed":
                return
            case "failed", "cancelled":
                throw QEMU.Error.qmp(
                    class: "MigrationFailed", description: answer["error-desc"]?.string ?? "migration failed")
            default:
                break
            }
            if clock.now >= deadline {
                throw QEMU.Error.timeout("migration did not complete within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until an incoming migration (`-incoming`, used for resume) has loaded, and
    /// returns the state the VM is left in (normally `paused`, as it was saved).
    public func waitForIncoming(timeout: Duration = .seconds(300)) async throws -> QEMU.RunState {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let state = try await status()
            if state != .inMigrate {
                return state
            }
            if clock.now >= deadline {
                throw QEMU.Error.timeout("incoming migration did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

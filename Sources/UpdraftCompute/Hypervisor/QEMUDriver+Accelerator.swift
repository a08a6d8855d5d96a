import Foundation
import QEMU

extension QEMUDriver {
    /// The accelerator guests run with: the configured one, or what a probe that runs guest
    /// code decided (once per driver, logged on one line either way; concurrent callers share it).
    func accelerator() async -> QEMU.Accelerator {
        if let acceleratorProbe { return await acceleratorProbe.value }
        let binary = configuration.qemuBinary
        let forced = configuration.accelerator
        let logger = logger
        let probe = Task {
            if let forced {
                logger.notice("accelerator \(forced.name) (set by the configuration; no probe)")
                return forced
            }
            guard let path = try? QEMU.locateBinary(binary) else {
                return QEMU.Accelerator.tcg(reason: "\(binary) not found")
            }
            let result = await QEMU.Accelerator.probe(binary: path, logger: logger)
            logger.notice("\(result)")
            return result.accelerator
        }
        acceleratorProbe = probe
        return await probe.value
    }

    /// A guest that KVM stopped with `internal-error` although the probe's guest ran: nested
    /// virtualisation that runs simple code but not a real boot (an emulation failure in the
    /// boot loader). Guests run under TCG from then on, and one started under KVM is started
    /// again under TCG at once, as a hard reboot, so its boot goes on. Returns whether it was.
    func fallBackFromKVM(_ id: String, files: InstanceFiles) async -> Bool {
        guard await switchToTCG(afterKVMStopped: id, files: files) else { return false }
        do {
            try await locks.withLock(id) {
                var record = try readRecord(id)
                try await relaunchUnderTCG(id, record: &record, files: files)
            }
            return true
        } catch {
            return false
        }
    }

    /// Runs guests under TCG from now on when instance `id`, launched under KVM, was stopped
    /// by KVM (`internal-error`): the one place the switch is made and logged, whoever saw
    /// it (the power-state sync, a stop, a detach). Returns whether `id` ran under KVM.
    func switchToTCG(afterKVMStopped id: String, files: InstanceFiles) async -> Bool {
        guard Self.launchedUnderKVM(files.launchLog) else { return false }
        if case .kvm = await accelerator() {
            let said = Self.wordsSinceLaunch(files.launchLog).map { " (QEMU said: \($0))" } ?? ""
            let reason = "a KVM guest stopped with internal-error\(said); guests run under TCG from now on"
            acceleratorProbe = Task { .tcg(reason: reason) }
            // The start log's form (`accelerator tcg (reason)`), so its last such line says what guests run with.
            logger.notice("accelerator tcg (\(reason))", metadata: ["instance": "\(id)"])
        }
        return true
    }

    /// Ends instance `id`'s QEMU and starts `record` again under TCG, as a hard reboot. The
    /// caller holds the instance's lock.
    func relaunchUnderTCG(_ id: String, record: inout InstanceRecord, files: InstanceFiles) async throws {
        await hardStop(id, files: files)
        do {
            try await run("start again under TCG \(id)") { try await launch(&record, files: files) }
        } catch {
            logger.error("could not start a guest again under TCG", metadata: ["instance": "\(id)", "error": "\(error)"])
            throw error
        }
        logger.notice("guest started again under TCG", metadata: ["instance": "\(id)"])
    }

    /// Whether the last QEMU launched for an instance ran under KVM (its launch line says `accel=kvm`).
    static func launchedUnderKVM(_ launchLog: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: launchLog) else { return false }
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.contains(" launching ") }) else { return false }
        return line.contains("accel=kvm")
    }
}

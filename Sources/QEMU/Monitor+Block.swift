import Foundation

extension QEMU.Monitor {
    /// What QEMU knows about one named block node.
    public struct BlockNode: Sendable, Equatable {
        public var nodeName: String
        /// The size the guest sees, in bytes.
        public var virtualSize: Int64
        public var readOnly: Bool
    }

    /// Every named block node, by name (`query-named-block-nodes` with `flat`, so a format
    /// node's `file` child is its own entry and backing chains are not repeated inside).
    public func blockNodes() async throws -> [String: BlockNode] {
        let answer = try await execute("query-named-block-nodes", arguments: ["flat": true])
        guard case .array(let entries) = answer else {
            throw QEMU.Error.protocolViolation("query-named-block-nodes: \(answer)")
        }
        var nodes: [String: BlockNode] = [:]
        for entry in entries {
            guard let name = entry["node-name"]?.string else { continue }
            nodes[name] = BlockNode(
                nodeName: name, virtualSize: entry["image"]?["virtual-size"]?.int ?? 0,
                readOnly: entry["ro"]?.bool ?? false)
        }
        return nodes
    }

    /// Opens a block node (`blockdev-add`); `arguments` name its driver, `node-name` and children.
    public func blockdevAdd(_ arguments: QEMU.JSON) async throws {
        try await execute("blockdev-add", arguments: arguments)
    }

    /// Closes the block node `nodeName` (`blockdev-del`); it must have no users left.
    public func blockdevDel(nodeName: String) async throws {
        try await execute("blockdev-del", arguments: ["node-name": .string(nodeName)])
    }

    /// Creates and plugs a device (`device_add`).
    public func deviceAdd(_ arguments: QEMU.JSON) async throws {
        try await execute("device_add", arguments: arguments)
    }

    /// Asks for the device `id` to be unplugged (`device_del`). On a PCI bus this only asks the
    /// guest: the device goes once the guest has released it (``waitForDeviceDeleted(_:timeout:)``).
    public func deviceDel(id: String) async throws {
        try await execute("device_del", arguments: ["id": .string(id)])
    }

    /// The ids of the devices created with an `id` (`qom-list` of `/machine/peripheral`).
    public func peripheralDeviceIDs() async throws -> Set<String> {
        let answer = try await execute("qom-list", arguments: ["path": "/machine/peripheral"])
        guard case .array(let entries) = answer else {
            throw QEMU.Error.protocolViolation("qom-list: \(answer)")
        }
        return Set(
            entries.compactMap { entry in
                entry["type"]?.string?.hasPrefix("child<") == true ? entry["name"]?.string : nil
            })
    }

    /// Waits until the device `id` is gone from the device list, which happens as QEMU sends
    /// `DEVICE_DELETED` for it. Polled rather than waited on as an event: the event may have gone
    /// to an earlier connection (a retried unplug), and reading ``events`` here would end the
    /// stream for the caller when the wait is cancelled. Throws ``QEMU/Error/timeout(_:)`` when
    /// the guest still holds the device after `timeout`.
    public func waitForDeviceDeleted(_ id: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await peripheralDeviceIDs().contains(id) {
            guard ContinuousClock.now < deadline else {
                throw QEMU.Error.timeout("the guest did not release device \(id) within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Hot-plugs `volume`: its node (`blockdev-add`) and its virtio-blk device (`device_add`,
    /// at the volume's slot). Whatever is already there is kept, so plugging twice does no
    /// harm; a device that cannot be added takes the node it was to use away again.
    public func plug(_ volume: QEMU.MachineConfiguration.Volume) async throws {
        if try await peripheralDeviceIDs().contains(volume.deviceID) { return }
        let addedNode = try await blockNodes()[volume.nodeName] == nil
        if addedNode {
            try await blockdevAdd(volume.blockdevArguments)
        }
        do {
            try await deviceAdd(volume.deviceArguments)
        } catch {
            if addedNode {
                try? await blockdevDel(nodeName: volume.nodeName)
            }
            throw error
        }
    }

    /// Unplugs `volume`: `device_del`, then waits up to `timeout` for the guest to release the
    /// device, then `blockdev-del` of its node. A guest that keeps the device throws
    /// ``QEMU/Error/timeout(_:)`` and leaves node and device in place. Unplugging a volume that
    /// is not there does nothing.
    public func unplug(_ volume: QEMU.MachineConfiguration.Volume, timeout: Duration) async throws {
        if try await peripheralDeviceIDs().contains(volume.deviceID) {
            // The ACPI unplug request is sent again every 10 s, as libvirt retries it: a guest
            // still booting (or busy) when the first one came may have missed it.
            // A crashed guest never releases it: that is said at once, not after `timeout`.
            let deadline = ContinuousClock.now + timeout
            while true {
                let state = try await status()
                if state.crashed { throw QEMU.Error.guestCrashed(state) }
                do {
                    try await deviceDel(id: volume.deviceID)
                } catch QEMU.Error.qmp {
                    // Already being unplugged, or already gone: the wait below tells.
                }
                let left = deadline - ContinuousClock.now
                do {
                    try await waitForDeviceDeleted(volume.deviceID, timeout: min(left, .seconds(10)))
                    break
                } catch QEMU.Error.timeout {
                    guard ContinuousClock.now < deadline else {
                        throw QEMU.Error.timeout("the guest did not release device \(volume.deviceID) within \(timeout)")
                    }
                }
            }
        }
        guard try await blockNodes()[volume.nodeName] != nil else { return }
        // The device lets go of its node as it is finalized, just after DEVICE_DELETED.
        var attempt = 0
        while true {
            do {
                try await blockdevDel(nodeName: volume.nodeName)
                return
            } catch QEMU.Error.qmp(let errorClass, let description) {
                attempt += 1
                guard attempt < 20 else { throw QEMU.Error.qmp(class: errorClass, description: description) }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Grows (or shrinks) the node `nodeName` to `sizeBytes` (`block_resize`); a virtio-blk
    /// device on it tells the guest the new capacity at once.
    public func blockResize(nodeName: String, sizeBytes: Int64) async throws {
        try await execute("block_resize", arguments: ["node-name": .string(nodeName), "size": .int(sizeBytes)])
    }

    /// A crash-consistent copy of node `nodeName` as it is now, written into the existing image
    /// `targetPath` (`targetFormat`, the node's virtual size) while the guest keeps running:
    /// the target is opened as node `targetNodeName` (`blockdev-add`), a full backup job of the
    /// same name copies every block (`blockdev-backup`, `sync: full`; blocks the guest
    /// overwrites meanwhile are copied first, so the copy is of the moment the job started),
    /// ``waitForJob(_:timeout:)`` waits for it, and the target node is closed (`blockdev-del`),
    /// which flushes it. On failure the job is cancelled and the target node closed; the
    /// caller removes the file. Leftovers of an interrupted copy under the same names go first.
    public func backup(
        nodeName: String, to targetPath: String, format targetFormat: QEMU.MachineConfiguration.Disk.Format,
        targetNodeName: String, timeout: Duration
    ) async throws {
        try? await cancelJob(targetNodeName)
        if try await blockNodes()[targetNodeName] != nil {
            try await blockdevDel(nodeName: targetNodeName)
        }
        try await blockdevAdd([
            "driver": .string(targetFormat.rawValue), "node-name": .string(targetNodeName),
            "file": ["driver": "file", "filename": .string(targetPath)],
        ])
        do {
            try await execute(
                "blockdev-backup",
                arguments: [
                    "job-id": .string(targetNodeName), "device": .string(nodeName), "target": .string(targetNodeName),
                    "sync": "full", "auto-dismiss": false,
                ])
            do {
                try await waitForJob(targetNodeName, timeout: timeout)
            } catch {
                try? await cancelJob(targetNodeName)
                throw error
            }
        } catch {
            try? await blockdevDel(nodeName: targetNodeName)
            throw error
        }
        try await blockdevDel(nodeName: targetNodeName)
    }

    /// Polls `query-jobs` until the job `id` (started with `auto-dismiss: false`) has concluded,
    /// then removes it (`job-dismiss`). A job that ended with an error throws it as
    /// ``QEMU/Error/qmp(class:description:)`` with class `JobFailed`; one still running after
    /// `timeout` throws ``QEMU/Error/timeout(_:)`` and is left running.
    public func waitForJob(_ id: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard let job = try await job(id) else {
                throw QEMU.Error.protocolViolation("job \(id) vanished before it concluded")
            }
            if job["status"]?.string == "concluded" {
                try await execute("job-dismiss", arguments: ["id": .string(id)])
                if let error = job["error"]?.string {
                    throw QEMU.Error.qmp(class: "JobFailed", description: error)
                }
                return
            }
            guard ContinuousClock.now < deadline else {
                let done = job["current-progress"]?.int ?? 0
                let total = job["total-progress"]?.int ?? 0
                throw QEMU.Error.timeout("job \(id) had copied \(done) of \(total) bytes after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Cancels the job `id` (`job-cancel`), waits briefly for it to conclude and dismisses it.
    /// A job that is not there is no error.
    public func cancelJob(_ id: String) async throws {
        guard let job = try await job(id) else { return }
        if job["status"]?.string != "concluded" {
            try await execute("job-cancel", arguments: ["id": .string(id)])
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while let job = try await self.job(id), job["status"]?.string != "concluded" {
            guard ContinuousClock.now < deadline else {
                throw QEMU.Error.timeout("job \(id) did not end within 10 s of its cancellation")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try? await execute("job-dismiss", arguments: ["id": .string(id)])
    }

    /// The job `id` as `query-jobs` lists it, or nil when there is none.
    func job(_ id: String) async throws -> QEMU.JSON? {
        let answer = try await execute("query-jobs")
        guard case .array(let jobs) = answer else {
            throw QEMU.Error.protocolViolation("query-jobs: \(answer)")
        }
        return jobs.first { $0["id"]?.string == id }
    }
}

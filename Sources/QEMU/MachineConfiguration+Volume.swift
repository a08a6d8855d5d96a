extension QEMU.MachineConfiguration {
    /// A block-storage volume: a `-blockdev` node on an image file and a virtio-blk device on it
    /// at a fixed PCI slot. The same value renders the command line of a boot and the QMP
    /// arguments of a hot-plug, so both put the device where the other does.
    ///
    /// The slot is explicit because a suspended VM is restored from saved device state, which
    /// needs every device at the PCI address it had when saved; a hot-plugged device would
    /// otherwise take whatever slot is free and land elsewhere on the next boot.
    public struct Volume: Sendable, Equatable {
        /// The block node's name; QEMU wants a letter first and at most 31 characters.
        public var nodeName: String
        /// The image file.
        public var path: String
        /// The image's format; always given so QEMU never probes it. A qcow2 image's backing
        /// chain is opened from its header.
        public var format: Disk.Format
        public var readOnly: Bool
        /// The serial the guest reads (`/dev/disk/by-id/virtio-<serial>`); virtio-blk keeps 20 bytes.
        public var serial: String
        /// The firmware's boot order (`bootindex`); 0 for a root volume, nil for a data volume.
        public var bootIndex: Int?
        /// The device's slot on PCI bus 0.
        public var slot: Int

        /// A volume named `nodeName` on `path`, writable unless told otherwise.
        public init(
            nodeName: String, path: String, format: Disk.Format, readOnly: Bool = false, serial: String,
            bootIndex: Int? = nil, slot: Int
        ) {
            self.nodeName = nodeName
            self.path = path
            self.format = format
            self.readOnly = readOnly
            self.serial = serial
            self.bootIndex = bootIndex
            self.slot = slot
        }

        /// The virtio-blk device's id, the name `device_del` takes to unplug it.
        public var deviceID: String { nodeName + "-device" }

        /// The node name of the volume with id `volumeID`: `vol` and the first 28 letters and
        /// digits of the id (a UUID's hex digits without dashes), so the same volume always
        /// has the same name and the name fits QEMU's 31 characters.
        public static func nodeName(volumeID: String) -> String {
            "vol" + volumeID.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(28)
        }

        /// The slot a machine's root volume takes: the first QEMU leaves free on `pc` and `q35`.
        /// Every volume device is on the command line before the devices QEMU places itself
        /// (NICs, VGA, and the `-drive` disks, which QEMU creates after every `-device`), so the
        /// root volume is the guest's first virtio disk.
        public static let rootSlot = 0x02

        /// `blockdev-add`'s arguments for the volume's node.
        public var blockdevArguments: QEMU.JSON {
            var arguments: [String: QEMU.JSON] = [
                "driver": .string(format.rawValue), "node-name": .string(nodeName),
                "file": ["driver": "file", "filename": .string(path)],
            ]
            if readOnly {
                arguments["read-only"] = true
            }
            return .object(arguments)
        }

        /// `device_add`'s arguments for the volume's virtio-blk device.
        public var deviceArguments: QEMU.JSON {
            var arguments: [String: QEMU.JSON] = [
                "driver": "virtio-blk-pci", "drive": .string(nodeName), "id": .string(deviceID),
                "serial": .string(serial), "addr": .string(Self.address(slot)),
            ]
            if let bootIndex {
                arguments["bootindex"] = .int(Int64(bootIndex))
            }
            return .object(arguments)
        }

        /// A PCI slot as QEMU's `addr` property takes it (`0x10`).
        static func address(_ slot: Int) -> String {
            "0x" + String(slot, radix: 16)
        }
    }
}

extension QEMU.MachineConfiguration.MachineType {
    /// The PCI slots kept for hot-plugged volumes, well above those QEMU hands out itself (the
    /// root disk, config drive, NICs and VGA take the lowest free ones). `q35` has its ICH9
    /// functions at 0x1f, so it ends one slot earlier. A `q35` machine's root bus takes
    /// volumes at boot but not hot-plugged ones; hot-plug there would need PCIe root ports.
    public var volumeSlots: ClosedRange<Int> {
        switch self {
        case .pc: 0x10...0x1f
        case .q35: 0x10...0x1e
        }
    }
}

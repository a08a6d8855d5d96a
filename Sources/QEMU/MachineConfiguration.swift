extension QEMU {
    /// Everything one QEMU process is started with, as typed values. ``arguments()`` renders
    /// the command line; the same configuration always renders the same argv.
    public struct MachineConfiguration: Sendable, Equatable {
        /// The chipset QEMU emulates.
        public enum MachineType: String, Sendable, Equatable {
            /// i440FX, what Nova uses by default on x86.
            case pc
            /// ICH9 with PCIe.
            case q35
        }

        /// A disk image file attached to the guest.
        public struct Disk: Sendable, Equatable {
            /// The image file's format; always given so QEMU never probes it.
            public enum Format: String, Sendable, Equatable {
                case qcow2
                case raw
            }

            /// How the guest sees the disk.
            public enum Interface: String, Sendable, Equatable {
                case virtio
            }

            public var path: String
            public var format: Format
            public var readOnly: Bool
            public var interface: Interface

            /// A disk at `path`; writable virtio unless told otherwise.
            public init(path: String, format: Format, readOnly: Bool = false, interface: Interface = .virtio) {
                self.path = path
                self.format = format
                self.readOnly = readOnly
                self.interface = interface
            }

            /// A config drive: an ISO 9660 image attached as a read-only raw virtio disk.
            public static func configDrive(path: String) -> Disk {
                Disk(path: path, format: .raw, readOnly: true)
            }
        }

        /// A kernel and initrd QEMU loads itself instead of booting from a disk.
        public struct DirectKernelBoot: Sendable, Equatable {
            public var kernel: String
            public var initrd: String?
            public var append: String?

            /// A direct boot of `kernel` with an optional initrd and command line.
            public init(kernel: String, initrd: String? = nil, append: String? = nil) {
                self.kernel = kernel
                self.initrd = initrd
                self.append = append
            }
        }

        /// The graphical console: a VNC server on a Unix socket and its websocket twin on a
        /// loopback TCP port (what a browser's noVNC reaches).
        public struct VNC: Sendable, Equatable {
            /// The Unix socket of the plain VNC server.
            public var socketPath: String
            /// Address the websocket listener binds to.
            public var websocketHost: String
            public var websocketPort: Int

            /// A VNC server on `socketPath` with a websocket listener on `websocketHost:websocketPort`.
            public init(socketPath: String, websocketHost: String = "127.0.0.1", websocketPort: Int) {
                self.socketPath = socketPath
                self.websocketHost = websocketHost
                self.websocketPort = websocketPort
            }
        }

        /// A virtio-net NIC on a tap device, with the guest MAC `mac`.
        public struct NIC: Sendable, Equatable {
            /// How QEMU reaches the tap.
            public enum Tap: Sendable, Equatable {
                /// QEMU opens the tap by name, in its own network namespace.
                case named(String)
                /// QEMU uses an open descriptor it inherits under this number (3, 4, ...):
                /// a tap in another namespace, opened there by whoever starts QEMU.
                case descriptor(Int32)
            }

            public var tap: Tap
            public var mac: String
            /// The netdev's id (`net0`, ... by position when nil); the device is `<id>-device`,
            /// the name `device_del` takes to unplug it.
            public var id: String?

            public init(tap: Tap, mac: String, id: String? = nil) {
                self.tap = tap
                self.mac = mac
                self.id = id
            }
        }

        /// SMBIOS type 1 (system) strings, as Nova sets them so cloud-init recognises OpenStack.
        public struct SMBIOS: Sendable, Equatable {
            public var manufacturer: String
            public var product: String
            /// The system serial; Nova uses the instance UUID.
            public var serial: String

            /// System strings; manufacturer and product default to Nova's.
            public init(
                manufacturer: String = "OpenStack Foundation", product: String = "OpenStack Nova", serial: String
            ) {
                self.manufacturer = manufacturer
                self.product = product
                self.serial = serial
            }
        }

        /// The process name (`-name`); also how a running VM is recognised in `/proc`.
        public var name: String
        public var uuid: String
        public var vcpus: Int
        public var memoryMiB: Int
        public var accelerator: Accelerator
        public var machineType: MachineType
        public var disks: [Disk]
        /// Block-storage volumes, each at its own PCI slot; a root volume has `bootIndex` 0.
        public var volumes: [Volume]
        public var kernelBoot: DirectKernelBoot?
        /// The serial console log; appended to across boots and written with no reader attached.
        public var serialLogPath: String
        /// The QMP control socket QEMU listens on.
        public var qmpSocketPath: String
        /// A second QMP socket for operators and tests (`query-status` by hand), so their
        /// sessions never collide with the driver's.
        public var operatorSocketPath: String?
        /// The socket of a virtio-serial port `org.qemu.guest_agent.0` for the guest's
        /// `qemu-ga` (``GuestAgent``); nil for no such port. As Nova adds it for an image with
        /// `hw_qemu_guest_agent=yes`.
        public var guestAgentSocketPath: String?
        public var pidFilePath: String
        public var vnc: VNC?
        public var smbios: SMBIOS
        public var nics: [NIC]
        /// A saved memory file to restore from (`-incoming exec:cat FILE`), for resume.
        public var incomingStateFile: String?
        /// Start with vCPUs stopped (`-S`); the VM stays in `prelaunch` until `cont`.
        public var startPaused: Bool
        /// Detach from the launcher (`-daemonize`) so the VM outlives it.
        public var daemonize: Bool
        /// QEMU's own log file (`-D`). Naming one also keeps QEMU's standard error open on
        /// the launch log after `-daemonize`, so what it says when a guest fails (a KVM
        /// internal error, an I/O error) is kept instead of going to /dev/null.
        public var logPath: String?

        /// A machine with the given identity and size; everything else has Nova-like defaults
        /// (`pc`, SMBIOS serial = `uuid`, no disks or volumes, no VNC, daemonized).
        public init(
            name: String, uuid: String, vcpus: Int, memoryMiB: Int, accelerator: Accelerator,
            machineType: MachineType = .pc, disks: [Disk] = [], volumes: [Volume] = [], kernelBoot: DirectKernelBoot? = nil,
            serialLogPath: String, qmpSocketPath: String, pidFilePath: String, vnc: VNC? = nil,
            smbios: SMBIOS? = nil, nics: [NIC] = [], incomingStateFile: String? = nil, startPaused: Bool = false,
            daemonize: Bool = true
        ) {
            self.name = name
            self.uuid = uuid
            self.vcpus = vcpus
            self.memoryMiB = memoryMiB
            self.accelerator = accelerator
            self.machineType = machineType
            self.disks = disks
            self.volumes = volumes
            self.kernelBoot = kernelBoot
            self.serialLogPath = serialLogPath
            self.qmpSocketPath = qmpSocketPath
            self.pidFilePath = pidFilePath
            self.vnc = vnc
            self.smbios = smbios ?? SMBIOS(serial: uuid)
            self.nics = nics
            self.incomingStateFile = incomingStateFile
            self.startPaused = startPaused
            self.daemonize = daemonize
            self.operatorSocketPath = nil
            self.guestAgentSocketPath = nil
            self.logPath = nil
        }
    }
}

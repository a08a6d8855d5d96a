import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension QEMU {
    /// How QEMU runs guest code: hardware virtualisation (KVM) or the TCG emulator.
    public enum Accelerator: Sendable, Equatable, CustomStringConvertible {
        /// KVM runs guest code here: `/dev/kvm` opened, reported API version 12, created a
        /// VM, and a trial guest under `-accel kvm -cpu host` wrote to its serial port.
        case kvm
        /// Pure emulation; `reason` says why KVM is not used.
        case tcg(reason: String)

        /// The value QEMU takes in `-machine accel=`.
        public var name: String {
            switch self {
            case .kvm: "kvm"
            case .tcg: "tcg"
            }
        }

        /// `kvm`, or `tcg (reason)`.
        public var description: String {
            switch self {
            case .kvm: "kvm"
            case .tcg(let reason): "tcg (\(reason))"
            }
        }

        /// Probes KVM the way QEMU does: open the device read-write, ask the API version
        /// (`KVM_GET_API_VERSION` must answer 12) and create a throwaway VM (`KVM_CREATE_VM`).
        /// A device node that exists but cannot create a VM (nested virtualisation off, a
        /// container without the capability) falls back to TCG with the reason.
        public static func detect(devicePath: String = "/dev/kvm") -> Accelerator {
            let kvmGetAPIVersion: UInt = 0xAE00
            let kvmCreateVM: UInt = 0xAE01
            let fd = open(devicePath, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else {
                return .tcg(reason: "cannot open \(devicePath): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            let version = ioctl(fd, kvmGetAPIVersion, 0)
            guard version == 12 else {
                if version < 0 {
                    return .tcg(reason: "KVM_GET_API_VERSION on \(devicePath) failed: \(String(cString: strerror(errno)))")
                }
                return .tcg(reason: "\(devicePath) reports KVM API version \(version), not 12")
            }
            let vm = ioctl(fd, kvmCreateVM, 0)
            guard vm >= 0 else {
                return .tcg(reason: "KVM_CREATE_VM on \(devicePath) failed: \(String(cString: strerror(errno)))")
            }
            close(vm)
            return .kvm
        }
    }
}

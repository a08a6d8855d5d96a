import Foundation
import Logging
import QEMU
import UpdraftCompute

extension UpdraftServer {
    /// The drivers of the hosts this process runs instances on: this machine, with QEMU
    /// unless the configuration asks for the fake driver.
    static func hypervisorDrivers(_ configuration: Configuration, logger: Logger) throws -> [String: any HypervisorDriver] {
        switch configuration.hypervisor {
        case .fake:
            var fake = FakeDriver.Configuration()
            fake.hostname = ProcessInfo.processInfo.hostName
            return [fake.hostname: FakeDriver(configuration: fake)]
        case .qemu:
            let accelerator: QEMU.Accelerator? =
                switch configuration.accelerator {
                case .auto: nil
                case .kvm: .kvm
                case .tcg: .tcg(reason: "chosen by the operator (--accelerator tcg)")
                }
            let driver = QEMUDriver(
                configuration: .init(
                    dataDirectory: configuration.dataDirectory, qemuBinary: configuration.qemuBinary,
                    accelerator: accelerator),
                logger: logger)
            return [ProcessInfo.processInfo.hostName: driver]
        }
    }
}

import Foundation
import Logging
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
            let driver = QEMUDriver(configuration: .init(dataDirectory: configuration.dataDirectory), logger: logger)
            return [ProcessInfo.processInfo.hostName: driver]
        }
    }
}

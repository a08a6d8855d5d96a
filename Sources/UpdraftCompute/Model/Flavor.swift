import Foundation
import UpdraftAccounting

/// A Nova flavor: the size of an instance.
public struct Flavor: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var vcpus: Int
    /// RAM in MiB.
    public var ram: Int
    /// Root disk in GiB.
    public var disk: Int
    public var ephemeral: Int
    /// Swap in MiB (0 is shown as "" before microversion 2.75, as Nova does).
    public var swap: Int
    public var rxtxFactor: Double
    public var isPublic: Bool
    public var disabled: Bool
    public var description: String?
    public var extraSpecs: [String: String]

    public init(
        id: String, name: String, vcpus: Int, ram: Int, disk: Int, ephemeral: Int = 0, swap: Int = 0,
        rxtxFactor: Double = 1.0, isPublic: Bool = true, disabled: Bool = false, description: String? = nil,
        extraSpecs: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.vcpus = vcpus
        self.ram = ram
        self.disk = disk
        self.ephemeral = ephemeral
        self.swap = swap
        self.rxtxFactor = rxtxFactor
        self.isPublic = isPublic
        self.disabled = disabled
        self.description = description
        self.extraSpecs = extraSpecs
    }

    /// Jetstream2's r3 flavors burn SUs at the large-memory rate.
    private static let largeMemory = [SURates.flavorClassKey: ResourceClass.largeMemory.rawValue]

    /// The flavors a new cloud starts with: Jetstream2's CPU and large-memory flavors and
    /// two small test flavors. RAM in GB is Jetstream2's GiB figure.
    public static let defaults: [Flavor] = [
        Flavor(id: "1", name: "m3.tiny", vcpus: 1, ram: 3 * 1024, disk: 20),
        Flavor(id: "2", name: "m3.small", vcpus: 2, ram: 6 * 1024, disk: 20),
        Flavor(id: "3", name: "m3.quad", vcpus: 4, ram: 15 * 1024, disk: 20),
        Flavor(id: "4", name: "m3.medium", vcpus: 8, ram: 30 * 1024, disk: 60),
        Flavor(id: "5", name: "m3.large", vcpus: 16, ram: 60 * 1024, disk: 60),
        Flavor(id: "7", name: "m3.xl", vcpus: 32, ram: 125 * 1024, disk: 60),
        Flavor(id: "8", name: "m3.2xl", vcpus: 64, ram: 250 * 1024, disk: 60),
        Flavor(id: "14", name: "r3.large", vcpus: 64, ram: 500 * 1024, disk: 60, extraSpecs: largeMemory),
        Flavor(id: "15", name: "r3.xl", vcpus: 128, ram: 1000 * 1024, disk: 60, extraSpecs: largeMemory),
        Flavor(id: "42", name: "m1.nano", vcpus: 1, ram: 128, disk: 1),
        Flavor(id: "84", name: "m1.micro", vcpus: 1, ram: 192, disk: 1),
    ]
}

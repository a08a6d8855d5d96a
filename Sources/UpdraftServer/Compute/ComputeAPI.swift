import ServiceLifecycle
import UpdraftAccounting
import UpdraftBlockStorage
import UpdraftCompute
import UpdraftDatabase
import UpdraftIdentity
import UpdraftImage
import UpdraftNetwork
import UpdraftObjectStorage

/// Nova v2.1 under `/compute`: servers on the configured hypervisor driver, booted from the
/// image service's images. Its service runs accepted actions; the power-state sync notices
/// guests that stopped on their own.
struct ComputeAPI: API {
    static let profile = APIProfile(name: "compute", faults: .nova, jsonBodiesOnly: true)
    static var migrations: [Migration] { ComputeSchema.migrations }

    let controller: ComputeController
    let services: [any Service]

    static func build(_ assembly: inout Assembly) async throws -> ComputeAPI {
        let configuration = assembly.configuration
        let compute = ComputeService(
            configuration: configuration.compute, database: assembly.database,
            images: ImageBridge(images: try assembly.require(ImageService.self)),
            networks: assembly.optional(NetworkService.self).map {
                NetworkBridge(network: $0, zone: configuration.compute.availabilityZone)
            },
            volumes: assembly.optional(BlockStorageService.self).map(VolumeBridge.init),
            drivers: try UpdraftServer.hypervisorDrivers(configuration, logger: assembly.logger), clock: assembly.clock,
            allocations: assembly.optional(AccountingService.self).map(AllocationsBridge.init),
            historyObserver: assembly.optional(AccountingService.self), logger: assembly.logger)
        if let accounting = assembly.optional(AccountingService.self) {
            if let trial = accounting.configuration.trial {
                try assembly.require(IdentityService.self).loginObserver = TrialProvisioner(
                    trial: trial, identity: try assembly.require(IdentityService.self), accounting: accounting,
                    compute: compute, volumes: assembly.optional(BlockStorageService.self),
                    network: assembly.optional(NetworkService.self), logger: assembly.logger)
            }
            accounting.usageSource = compute
            try await accounting.prepareRunningSums()
            accounting.holdings = HoldingsBridge(
                compute: compute, volumes: assembly.optional(BlockStorageService.self),
                images: assembly.optional(ImageService.self), objects: assembly.optional(ObjectStorageService.self))
        }
        try await compute.start()
        assembly.optional(BlockStorageService.self)?.hypervisor = HypervisorBridge(compute: compute)
        assembly.provide(compute)
        let powerSync = PeriodicService(
            name: "power-state-sync", interval: configuration.powerSyncInterval, clock: ContinuousClock(),
            logger: assembly.logger
        ) { try await compute.syncPowerStates() }
        var services: [any Service] = [compute, powerSync]
        if let network = assembly.optional(NetworkService.self), configuration.dataplane == .linux {
            services.append(MetadataServer(network: network, compute: compute, logger: assembly.logger))
        }
        return ComputeAPI(
            controller: ComputeController(
                compute: compute, publicBase: assembly.publicBase, bodyLimit: configuration.bodyLimit),
            services: services)
    }

    var catalog: [CatalogItem] { [CatalogItem(type: "compute", name: "nova", path: "/compute/v2.1")] }

    func register(on routes: Routes) {
        controller.register(on: routes)
    }
}

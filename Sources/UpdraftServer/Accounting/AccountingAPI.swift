import HostProcess
import ServiceLifecycle
import UpdraftAccounting
import UpdraftCompute
import UpdraftCore
import UpdraftDatabase
import UpdraftIdentity

/// Allocations and the SU ledger under `/accounting/v1` (catalog type `accounting`). Built
/// right after identity: the storage services ask it before a project stores more, compute
/// before an instance starts to burn, and compute hands it the state history once built
/// (``ComputeAPI``).
struct AccountingAPI: API {
    static let profile = APIProfile(name: "accounting", faults: .nova, jsonBodiesOnly: true)
    static var migrations: [Migration] { AccountingSchema.migrations }

    let controller: AccountingController
    let services: [any Service]

    static func build(_ assembly: inout Assembly) async throws -> AccountingAPI {
        let configuration = assembly.configuration.accounting
        let service = AccountingService(
            configuration: configuration, database: assembly.database, clock: assembly.clock, logger: assembly.logger)
        service.directory = assembly.optional(IdentityService.self).map(DirectoryBridge.init)
        if let command = assembly.configuration.noticeCommand {
            service.noticeSink = CommandNoticeSink(command: try HostProcess.locate(command))
            try await service.prepareNoticeDelivery()
        }
        assembly.provide(service)
        let lifecycle = PeriodicService(
            name: "allocation-lifecycle", interval: configuration.lifecycleInterval, clock: ContinuousClock(),
            logger: assembly.logger
        ) { try await service.enforceLifecycle() }
        return AccountingAPI(
            controller: AccountingController(
                accounting: service, testClock: assembly.clock as? TestWallClock, publicBase: assembly.publicBase,
                bodyLimit: assembly.configuration.bodyLimit),
            services: [lifecycle])
    }

    var catalog: [CatalogItem] { [CatalogItem(type: "accounting", name: "updraft-accounting", path: "/accounting/v1")] }

    func register(on routes: Routes) {
        controller.register(on: routes)
    }
}

/// Compute's question before a launch, start, resume, unshelve or resize, answered by the
/// allocation of the flavor's resource class.
struct AllocationsBridge: ComputeAllocations {
    let accounting: AccountingService

    func authorizeBurn(projectID: String, flavor: Flavor) async throws {
        try await accounting.authorizeBurn(
            projectID: projectID, resource: SURates.resourceClass(extraSpecs: flavor.extraSpecs), flavor: flavor.name)
    }
}

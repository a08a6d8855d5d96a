import ServiceLifecycle
import UpdraftDatabase
import UpdraftIdentity

/// Keystone v3 under `/identity`. It comes first: it bootstraps an empty store, writes the
/// client files, authenticates every request at the edge and keeps the catalog.
struct IdentityAPI: API {
    static let profile = APIProfile(name: "identity", faults: .keystone, jsonBodiesOnly: true)
    static var migrations: [Migration] { IdentitySchema.migrations }

    let identity: IdentityService
    let controller: IdentityController
    let services: [any Service]

    static func build(_ assembly: inout Assembly) async throws -> IdentityAPI {
        let configuration = assembly.configuration
        let directory = configuration.dataDirectory
        let identity = IdentityService(
            configuration: configuration.identity, database: assembly.database,
            tokenKeys: try KeyRepository.open(.init(directory: directory + "/keys/tokens")),
            credentialKeys: try KeyRepository.open(.init(directory: directory + "/keys/credentials")),
            logger: assembly.logger)
        try await identity.start()
        let bootstrapped = try await identity.bootstrapIfEmpty(region: configuration.region)
        assembly.adminPassword = bootstrapped?.adminPassword
        if let password = bootstrapped?.adminPassword ?? ClientFiles.recordedPassword(directory: directory) {
            try ClientFiles.write(
                directory: directory, authURL: assembly.baseURL + "/identity/v3", password: password,
                region: configuration.region)
        }
        assembly.provide(identity)

        let logger = assembly.logger
        let tokens = identity.tokens
        var services: [any Service] = [
            PeriodicService(
                name: "token-key-reload", interval: configuration.keyReloadInterval, clock: ContinuousClock(), logger: logger
            ) {
                if try tokens.reloadKeys() { logger.notice("token keys reloaded after a rotation") }
            }
        ]
        if !assembly.database.kind.isSQLite {
            // Other controllers may share this store: follow their revocations.
            services.append(
                PeriodicService(
                    name: "revocation-sync", interval: configuration.revocationSyncInterval, clock: ContinuousClock(),
                    logger: logger
                ) { try await tokens.revocations.refresh() })
        }
        return IdentityAPI(
            identity: identity,
            controller: IdentityController(
                identity: identity, publicBase: assembly.publicBase, bodyLimit: configuration.bodyLimit),
            services: services)
    }

    var catalog: [CatalogItem] { [CatalogItem(type: "identity", name: "keystone", path: "/identity")] }

    func register(on routes: Routes) {
        controller.register(on: routes)
    }
}

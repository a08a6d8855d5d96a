import Foundation
import LinuxNet
import Logging
import ServiceLifecycle
import UpdraftDatabase
import UpdraftIdentity
import UpdraftNetwork

/// Neutron v2.0 under `/networking`. It makes the external network on first start and keeps
/// the host's dataplane in step with the database.
struct NetworkAPI: API {
    static let profile = APIProfile(name: "networking", faults: .neutron, jsonBodiesOnly: true)
    static var migrations: [Migration] { NetworkSchema.migrations }

    let controller: NetworkController
    let services: [any Service]

    static func build(_ assembly: inout Assembly) async throws -> NetworkAPI {
        let configuration = assembly.configuration
        let identity = try assembly.require(IdentityService.self)
        let dataplane: any NetworkDataplane =
            switch configuration.dataplane {
            case .fake: FakeDataplane()
            case .linux: LinuxDataplane(directory: dataplaneDirectory(configuration.dataDirectory), logger: assembly.logger)
            }
        let network = NetworkService(
            configuration: configuration.network, database: assembly.database, dataplane: dataplane, logger: assembly.logger)
        if let admin = try await identity.listProjects(query: ["name": "admin", "domain_id": "default"]).first?.id {
            try await network.bootstrap(adminProjectID: admin)
        }
        assembly.provide(network)
        return NetworkAPI(
            controller: NetworkController(network: network, publicBase: assembly.publicBase, bodyLimit: configuration.bodyLimit),
            services: [network])
    }

    /// Where the Linux dataplane records what it made.
    static func dataplaneDirectory(_ dataDirectory: String) -> String { dataDirectory + "/network" }

    var catalog: [CatalogItem] { [CatalogItem(type: "network", name: "neutron", path: "/networking")] }

    func register(on routes: Routes) {
        controller.register(on: routes)
    }
}

extension UpdraftServer {
    /// Removes every namespace, bridge, veth and dnsmasq the cloud in `dataDirectory` made
    /// (`updraft admin remove-network`): for uninstalling, and for tests that throw a cloud
    /// away. Guests' taps go with their networks' namespaces.
    public static func removeNetworking(dataDirectory: String, logger: Logger) async throws {
        _ = try await LinuxDataplane(directory: NetworkAPI.dataplaneDirectory(dataDirectory), logger: logger).apply(Topology())
    }
}

extension UpdraftServer {
    /// Why this machine cannot carry tenant networks (not root, or programs missing), or nil when it can.
    public static func networkingUnavailable() -> String? {
        if geteuid() != 0 { return "root (it makes namespaces, bridges and nftables tables)" }
        let missing = LinuxNet.missingPrograms()
        return missing.isEmpty ? nil : "these programs: " + missing.joined(separator: ", ")
    }
}

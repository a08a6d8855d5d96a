import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Regions, services, endpoints, and the catalog tokens carry.
extension IdentityService {
    /// The catalog in token form, cached until the next change.
    public func catalog() async throws -> [CatalogEntry] {
        let current = generation.load(ordering: .relaxed)
        if let cached = catalogCache.withLock({ $0 }), cached.generation == current { return cached.catalog }
        let catalog = try await read { db in
            let services = try await db.raw("SELECT * FROM services WHERE enabled = \(bind: true) ORDER BY type").all().map(
                Self.service)
            let endpoints = try await db.raw("SELECT * FROM endpoints WHERE enabled = \(bind: true) ORDER BY interface").all()
                .map(Self.endpoint)
            return services.map { service in
                CatalogEntry(
                    id: service.id, type: service.type, name: service.name,
                    endpoints: endpoints.filter { $0.serviceID == service.id }.map {
                        .init(id: $0.id, interface: $0.interface, region: $0.regionID, url: $0.url)
                    })
            }
        }
        catalogCache.withLock { $0 = (current, catalog) }
        return catalog
    }

    /// The catalog as a token scoped to `projectID` carries it: `%(project_id)s`,
    /// `$(project_id)s` and `%(tenant_id)s` in an endpoint's URL are replaced by the project,
    /// and an endpoint that needs one is left out without one, as Keystone does.
    public func catalog(projectID: String?) async throws -> [CatalogEntry] {
        try await catalog().map { entry in
            var entry = entry
            entry.endpoints = entry.endpoints.compactMap { endpoint in
                var endpoint = endpoint
                let templates = ["%(project_id)s", "$(project_id)s", "%(tenant_id)s", "$(tenant_id)s"]
                guard templates.contains(where: endpoint.url.contains) else { return endpoint }
                guard let projectID else { return nil }
                for template in templates {
                    endpoint.url = endpoint.url.replacingOccurrences(of: template, with: projectID)
                }
                return endpoint
            }
            return entry
        }.filter { !$0.endpoints.isEmpty }
    }

    /// Makes the catalog list exactly these services at these URLs (public, internal and admin
    /// interfaces alike), keeping ids stable across restarts.
    public func reconcileCatalog(_ services: [(type: String, name: String, url: String)], region: String) async throws {
        try await write { db in
            for entry in services {
                let serviceID: String
                if let row = try await db.raw("SELECT id FROM services WHERE type = \(bind: entry.type)").first() {
                    serviceID = try row.string("id")
                } else {
                    serviceID = Identifier.make()
                    try await db.raw(
                        """
                        INSERT INTO services (id, type, name, description, enabled)
                        VALUES (\(bind: serviceID), \(bind: entry.type), \(bind: entry.name), '', \(bind: true))
                        """
                    ).run()
                }
                for interface in ["public", "internal", "admin"] {
                    if try await db.raw(
                        "SELECT id FROM endpoints WHERE service_id = \(bind: serviceID) AND interface = \(bind: interface)"
                    ).first() != nil {
                        try await db.raw(
                            """
                            UPDATE endpoints SET url = \(bind: entry.url), region_id = \(bind: region)
                            WHERE service_id = \(bind: serviceID) AND interface = \(bind: interface)
                            """
                        ).run()
                    } else {
                        try await db.raw(
                            """
                            INSERT INTO endpoints (id, service_id, interface, region_id, url, enabled)
                            VALUES (\(bind: Identifier.make()), \(bind: serviceID), \(bind: interface), \(bind: region),
                            \(bind: entry.url), \(bind: true))
                            """
                        ).run()
                    }
                }
            }
        }
    }

    // MARK: Regions

    public func listRegions(query: [String: String]) async throws -> [Region] {
        let filters = Self.filters(query, allowed: ["parent_region_id": "parent_region_id"])
        return try await read { db in try await db.raw(Self.select("regions", where: filters, order: "id")).all().map(Self.region)
        }
    }

    public func region(id: String) async throws -> Region {
        try await read { db in
            return try Self.region(try await Self.row("regions", id: id, noun: "region", db))
        }
    }

    public func createRegion(_ body: JSONObject, id: String? = nil) async throws -> Region {
        let region = Region(
            id: try id ?? body.string("id") ?? Identifier.make(), description: try body.string("description") ?? "",
            parentRegionID: try body.string("parent_region_id"))
        try await write { db in
            if let parent = region.parentRegionID,
                try await db.raw("SELECT id FROM regions WHERE id = \(bind: parent)").first() == nil
            {
                throw UpdraftError.badRequest("Parent region \(parent) not found.")
            }
            try await db.raw(
                """
                INSERT INTO regions (id, description, parent_region_id)
                VALUES (\(bind: region.id), \(bind: region.description), \(bind: region.parentRegionID))
                """
            ).run()
        }
        return region
    }

    public func updateRegion(id: String, _ body: JSONObject) async throws -> Region {
        try await write { db in
            var region = try Self.region(try await Self.row("regions", id: id, noun: "region", db))
            if let description = try body.string("description") { region.description = description }
            if body.has("parent_region_id") { region.parentRegionID = try body.string("parent_region_id") }
            try await db.raw(
                """
                UPDATE regions SET description = \(bind: region.description), parent_region_id = \(bind: region.parentRegionID)
                WHERE id = \(bind: id)
                """
            ).run()
            return region
        }
    }

    public func deleteRegion(id: String) async throws {
        _ = try await region(id: id)
        try await write { db in
            if try await db.raw("SELECT id FROM regions WHERE parent_region_id = \(bind: id)").first() != nil {
                throw UpdraftError.forbidden("Region \(id) has child regions.")
            }
            try await db.raw("DELETE FROM regions WHERE id = \(bind: id)").run()
        }
    }

    // MARK: Services

    public func listServices(query: [String: String]) async throws -> [CatalogService] {
        let filters = Self.filters(query, allowed: ["type": "type", "name": "name"])
        return try await read { db in
            try await db.raw(Self.select("services", where: filters, order: "type")).all().map(Self.service)
        }
    }

    public func service(id: String) async throws -> CatalogService {
        try await read { db in
            return try Self.service(try await Self.row("services", id: id, noun: "service", db))
        }
    }

    public func createService(_ body: JSONObject) async throws -> CatalogService {
        let service = CatalogService(
            id: Identifier.make(), type: try body.requiredString("type"), name: try body.string("name") ?? "",
            description: try body.string("description") ?? "", enabled: try body.bool("enabled") ?? true)
        try await write { db in
            try await db.raw(
                """
                INSERT INTO services (id, type, name, description, enabled)
                VALUES (\(bind: service.id), \(bind: service.type), \(bind: service.name), \(bind: service.description),
                \(bind: service.enabled))
                """
            ).run()
        }
        return service
    }

    public func updateService(id: String, _ body: JSONObject) async throws -> CatalogService {
        try await write { db in
            var service = try Self.service(try await Self.row("services", id: id, noun: "service", db))
            if let type = try body.string("type") { service.type = type }
            if let name = try body.string("name") { service.name = name }
            if let description = try body.string("description") { service.description = description }
            if let enabled = try body.bool("enabled") { service.enabled = enabled }
            try await db.raw(
                """
                UPDATE services SET type = \(bind: service.type), name = \(bind: service.name),
                description = \(bind: service.description), enabled = \(bind: service.enabled) WHERE id = \(bind: id)
                """
            ).run()
            return service
        }
    }

    public func deleteService(id: String) async throws {
        _ = try await service(id: id)
        try await write { db in
            try await db.raw("DELETE FROM endpoints WHERE service_id = \(bind: id)").run()
            try await db.raw("DELETE FROM services WHERE id = \(bind: id)").run()
        }
    }

    // MARK: Endpoints

    public func listEndpoints(query: [String: String]) async throws -> [Endpoint] {
        let filters = Self.filters(
            query, allowed: ["service_id": "service_id", "interface": "interface", "region_id": "region_id"])
        return try await read { db in
            try await db.raw(Self.select("endpoints", where: filters, order: "id")).all().map(Self.endpoint)
        }
    }

    public func endpoint(id: String) async throws -> Endpoint {
        try await read { db in
            return try Self.endpoint(try await Self.row("endpoints", id: id, noun: "endpoint", db))
        }
    }

    public func createEndpoint(_ body: JSONObject) async throws -> Endpoint {
        let interface = try body.requiredString("interface")
        guard ["public", "internal", "admin"].contains(interface) else {
            throw UpdraftError.badRequest("Invalid input for field 'endpoint.interface': must be public, internal or admin.")
        }
        let endpoint = Endpoint(
            id: Identifier.make(), serviceID: try body.requiredString("service_id"), interface: interface,
            regionID: try body.string("region_id") ?? body.string("region"), url: try body.requiredString("url", maxLength: 2048),
            enabled: try body.bool("enabled") ?? true)
        try await write { db in
            _ = try await db.raw("SELECT id FROM services WHERE id = \(bind: endpoint.serviceID)").first().orThrow(
                .badRequest("Could not find service: \(endpoint.serviceID)."))
            try await Self.ensureRegion(endpoint.regionID, db)
            try await db.raw(
                """
                INSERT INTO endpoints (id, service_id, interface, region_id, url, enabled)
                VALUES (\(bind: endpoint.id), \(bind: endpoint.serviceID), \(bind: interface), \(bind: endpoint.regionID),
                \(bind: endpoint.url), \(bind: endpoint.enabled))
                """
            ).run()
        }
        return endpoint
    }

    public func updateEndpoint(id: String, _ body: JSONObject) async throws -> Endpoint {
        try await write { db in
            var endpoint = try Self.endpoint(try await Self.row("endpoints", id: id, noun: "endpoint", db))
            if let url = try body.string("url") { endpoint.url = url }
            if let interface = try body.string("interface") { endpoint.interface = interface }
            if let region = try body.string("region_id") ?? body.string("region") { endpoint.regionID = region }
            if let service = try body.string("service_id") { endpoint.serviceID = service }
            if let enabled = try body.bool("enabled") { endpoint.enabled = enabled }
            try await Self.ensureRegion(endpoint.regionID, db)
            try await db.raw(
                """
                UPDATE endpoints SET url = \(bind: endpoint.url), interface = \(bind: endpoint.interface),
                region_id = \(bind: endpoint.regionID), service_id = \(bind: endpoint.serviceID), enabled = \(bind: endpoint.enabled)
                WHERE id = \(bind: id)
                """
            ).run()
            return endpoint
        }
    }

    /// As Keystone does, an endpoint naming an unknown region creates it.
    private static func ensureRegion(_ region: String?, _ db: any SQLDatabase) async throws {
        guard let region, try await db.raw("SELECT id FROM regions WHERE id = \(bind: region)").first() == nil else { return }
        try await db.raw("INSERT INTO regions (id, description) VALUES (\(bind: region), '')").run()
    }

    public func deleteEndpoint(id: String) async throws {
        _ = try await endpoint(id: id)
        try await write { db in try await db.raw("DELETE FROM endpoints WHERE id = \(bind: id)").run() }
    }
}

extension Optional {
    func orThrow(_ error: UpdraftError) throws -> Wrapped {
        guard let self else { throw error }
        return self
    }
}

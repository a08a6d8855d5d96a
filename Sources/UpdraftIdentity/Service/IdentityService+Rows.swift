import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Mapping rows to models, and list filters.
extension IdentityService {
    static func domain(_ row: any SQLRow) throws -> Domain {
        Domain(
            id: try row.string("id"), name: try row.string("name"), description: try row.string("description"),
            enabled: try row.bool("enabled"), tags: tags(try row.string("tags")))
    }

    static func project(_ row: any SQLRow) throws -> Project {
        Project(
            id: try row.string("id"), name: try row.string("name"), domainID: try row.string("domain_id"),
            parentID: try row.optionalString("parent_id"), description: try row.string("description"),
            enabled: try row.bool("enabled"), tags: tags(try row.string("tags")),
            extra: extra(try row.string("extra")))
    }

    /// A row's `extra` column: the properties stored beyond the resource's own attributes.
    static func extra(_ text: String) -> [String: JSONValue] {
        if case .object(let fields) = JSONValue.decode(text: text) { return fields }
        return [:]
    }

    static func user(_ row: any SQLRow) throws -> User {
        User(
            id: try row.string("id"), name: try row.string("name"), domainID: try row.string("domain_id"),
            enabled: try row.bool("enabled"), defaultProjectID: try row.optionalString("default_project_id"),
            extra: extra(try row.string("extra")))
    }

    static func group(_ row: any SQLRow) throws -> Group {
        Group(
            id: try row.string("id"), name: try row.string("name"), domainID: try row.string("domain_id"),
            description: try row.string("description"))
    }

    static func role(_ row: any SQLRow) throws -> Role {
        let domain = try row.string("domain_id")
        return Role(
            id: try row.string("id"), name: try row.string("name"), domainID: domain.isEmpty ? nil : domain,
            description: try row.string("description"))
    }

    static func region(_ row: any SQLRow) throws -> Region {
        Region(
            id: try row.string("id"), description: try row.string("description"),
            parentRegionID: try row.optionalString("parent_region_id"))
    }

    static func service(_ row: any SQLRow) throws -> CatalogService {
        CatalogService(
            id: try row.string("id"), type: try row.string("type"), name: try row.string("name"),
            description: try row.string("description"), enabled: try row.bool("enabled"))
    }

    static func endpoint(_ row: any SQLRow) throws -> Endpoint {
        Endpoint(
            id: try row.string("id"), serviceID: try row.string("service_id"), interface: try row.string("interface"),
            regionID: try row.optionalString("region_id"), url: try row.string("url"), enabled: try row.bool("enabled"))
    }

    static func tags(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    static func tagsText(_ tags: [String]) -> String {
        (try? String(decoding: JSONEncoder().encode(tags), as: UTF8.self)) ?? "[]"
    }

    /// Turns query parameters into equality filters on the columns a list allows.
    /// `enabled` and other boolean filters accept Keystone's spellings of true and false.
    static func filters(
        _ query: [String: String], allowed: [String: String], booleans: Set<String> = ["enabled"]
    ) -> [(String, any Encodable & Sendable)] {
        var result: [(String, any Encodable & Sendable)] = []
        for (parameter, column) in allowed.sorted(by: { $0.key < $1.key }) {
            guard let value = query[parameter] else { continue }
            if booleans.contains(parameter) {
                result.append((column, !["0", "false", "no", "off"].contains(value.lowercased())))
            } else {
                result.append((column, value))
            }
        }
        return result
    }
}

import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// One page of a volume list, as Cinder pages it: sorted (`created_at` descending unless asked
/// otherwise, ties broken by id in the first key's direction), after `marker`, past `offset`,
/// at most `limit` volumes.
public struct VolumePage: Sendable {
    public var sort: [(key: String, ascending: Bool)]
    public var marker: String?
    public var offset: Int
    public var limit: Int

    public init(sort: [(key: String, ascending: Bool)], marker: String?, offset: Int, limit: Int) {
        self.sort = sort
        self.marker = marker
        self.offset = offset
        self.limit = limit
    }

    /// What a sort key's column holds, for binding a marker's value to compare with it.
    enum ColumnType { case text, integer, real, boolean }

    /// The SQL a sort key orders by (over `v` and `t`) and its type, or nil for one SQL cannot
    /// order as the list does.
    static func column(_ key: String) -> (sql: String, type: ColumnType)? {
        switch key {
        case "id": ("v.id", .text)
        case "name", "display_name": ("COALESCE(v.name, '')", .text)
        case "status": ("v.status", .text)
        case "size": ("v.size", .integer)
        case "created_at": ("v.created_at", .real)
        case "updated_at": ("v.updated_at", .real)
        case "availability_zone": ("v.availability_zone", .text)
        case "bootable": ("v.bootable", .boolean)
        case "volume_type": ("COALESCE(t.name, '')", .text)
        default: nil
        }
    }

    /// The columns attribute filters compare with, as text equality.
    static let filterColumns: [String: String] = [
        "name": "v.name", "status": "v.status", "availability_zone": "v.availability_zone", "volume_type": "t.name",
        "volume_type_id": "v.type_id", "snapshot_id": "v.snapshot_id", "source_volid": "v.source_volid",
        "user_id": "v.user_id", "id": "v.id",
    ]
}

extension BlockStorageService {
    /// Serves `GET /volumes[/detail]` one page at a time in SQL, so a project with thousands of
    /// volumes reads only the page it shows. Nil when the filter or the sort needs the whole
    /// list (metadata filters, unknown keys), which ``volumes(_:caller:)`` then serves.
    /// Returns the page and whether it is full (Cinder links a next page then).
    public func volumes(_ filter: VolumeFilter, page: VolumePage, caller: AuthContext) async throws
        -> (volumes: [Volume], full: Bool)?
    {
        guard filter.metadata.isEmpty,
            filter.attributes.keys.allSatisfy({ VolumePage.filterColumns[$0] != nil || $0 == "bootable" }),
            let orders = Optional(
                page.sort.compactMap { key, ascending in VolumePage.column(key).map { ($0, ascending) } }),
            orders.count == page.sort.count, let first = orders.first
        else { return nil }
        let project = try listedProject(filter, caller: caller)
        var condition: SQLQueryString = project.map { "v.project_id = \(bind: $0)" } ?? "1 = 1"
        for (key, wanted) in filter.attributes.sorted(by: { $0.key < $1.key }) {
            if key == "bootable" {
                let truth = ["true", "1", "yes", "on"].contains(wanted.lowercased())
                condition += " AND v.bootable = \(bind: truth)"
            } else if let column = VolumePage.filterColumns[key] {
                condition += " AND \(unsafeRaw: column) = \(bind: wanted)"
            }
        }
        // Ties go by id in the first key's direction, as the list in memory breaks them.
        let keys = orders + [((sql: "v.id", type: .text), first.1)]
        if let marker = page.marker {
            condition += " AND " + (try await after(marker, keys: keys))
        }
        let order = keys.map { "\($0.0.sql) \($0.1 ? "ASC" : "DESC")" }.joined(separator: ", ")
        let selected = condition
        let volumes = try await database.read { db in
            try await VolumeRepository.volumes(
                where: selected,
                orderedBy: "\(unsafeRaw: order) LIMIT \(unsafeRaw: String(page.limit)) OFFSET \(unsafeRaw: String(page.offset))",
                db)
        }
        return (volumes, page.limit > 0 && volumes.count == page.limit)
    }

    /// The rows that come after volume `marker` in the order of `keys`: a row comparison
    /// spelled out key by key, so each key keeps its own direction.
    func after(_ marker: String, keys: [((sql: String, type: VolumePage.ColumnType), Bool)]) async throws
        -> SQLQueryString
    {
        let row = try await database.read { db in
            try await db.raw(
                """
                SELECT \(unsafeRaw: keys.enumerated().map { "\($1.0.sql) AS k\($0)" }.joined(separator: ", "))
                FROM volumes v LEFT JOIN volume_types t ON t.id = v.type_id WHERE v.id = \(bind: marker)
                """
            ).first()
        }
        guard let row else { throw UpdraftError(.notFound, "Marker \(marker) could not be found.") }
        let values = try keys.indices.map { index in try Self.bound(row, "k\(index)", keys[index].0.type) }
        var result: SQLQueryString = "("
        for index in keys.indices {
            if index > 0 { result += " OR " }
            result += "("
            for earlier in 0..<index { result += "\(unsafeRaw: keys[earlier].0.sql) = \(values[earlier]) AND " }
            result += "\(unsafeRaw: keys[index].0.sql) \(unsafeRaw: keys[index].1 ? ">" : "<") \(values[index]))"
        }
        return result + ")"
    }

    /// A marker row's value of a key, bound as its column's type.
    static func bound(_ row: any SQLRow, _ column: String, _ type: VolumePage.ColumnType) throws -> SQLQueryString {
        switch type {
        case .text: "\(bind: try row.decode(column: column, as: String.self))"
        case .integer: "\(bind: try row.decode(column: column, as: Int.self))"
        case .real: "\(bind: try row.decode(column: column, as: Double.self))"
        case .boolean: "\(bind: try row.decode(column: column, as: Bool.self))"
        }
    }

    /// The project a list shows: the caller's, or for an administrator the one asked for, or
    /// every project (nil) with `all_tenants`.
    func listedProject(_ filter: VolumeFilter, caller: AuthContext) throws -> String? {
        if Policy.isAdmin(caller) && filter.allProjects { return filter.projectID }
        return try filter.projectID.flatMap { Policy.isAdmin(caller) ? $0 : nil } ?? Self.project(of: caller)
    }
}

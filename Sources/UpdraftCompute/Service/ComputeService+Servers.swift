import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Creating, listing, changing and deleting servers.
extension ComputeService {
    /// A validated `POST /servers` request.
    public struct CreateRequest: Sendable {
        public var name: String
        public var imageID: String
        public var flavorID: String
        public var keyName: String?
        public var userData: String?
        public var metadata: [String: String]
        public var configDrive: Bool
        public var minCount: Int
        public var maxCount: Int
        public var availabilityZone: String?
        public var description: String?
        public var accessIPv4: String?
        public var accessIPv6: String?
        public var tags: [String]
        /// The password the answer shows; nil has the service generate one.
        public var adminPass: String?
        /// The `networks` asked for.
        public var networks: NetworkRequest = .unspecified
        /// Names (or ids) of the security groups for its ports; empty is the project's `default`.
        public var securityGroups: [String] = []
        /// Volumes to make or attach at boot (`block_device_mapping_v2`); one with boot index 0
        /// is the root disk, and `imageID` is then empty.
        public var blockDevices: [BlockDeviceRequest] = []

        public init(
            name: String, imageID: String, flavorID: String, keyName: String? = nil, userData: String? = nil,
            metadata: [String: String] = [:], configDrive: Bool = false, minCount: Int = 1, maxCount: Int = 1,
            availabilityZone: String? = nil, description: String? = nil, accessIPv4: String? = nil,
            accessIPv6: String? = nil, tags: [String] = [], adminPass: String? = nil
        ) {
            self.name = name
            self.imageID = imageID
            self.flavorID = flavorID
            self.keyName = keyName
            self.userData = userData
            self.metadata = metadata
            self.configDrive = configDrive
            self.minCount = minCount
            self.maxCount = maxCount
            self.availabilityZone = availabilityZone
            self.description = description
            self.accessIPv4 = accessIPv4
            self.accessIPv6 = accessIPv6
            self.tags = tags
            self.adminPass = adminPass
        }
    }

    /// What `POST /servers` created: the servers in BUILD and the admin password they share.
    public struct CreateResult: Sendable {
        public var servers: [Instance]
        /// The request's `adminPass`, or the one generated for it.
        public var adminPass: String
    }

    /// Serves `POST /servers`: checks everything a user can get wrong, reserves quota and
    /// records the instances in BUILD; spawning happens on the job loop.
    public func createServers(_ request: CreateRequest, caller: AuthContext, requestID: String) async throws -> CreateResult {
        guard let projectID = caller.projectID else {
            throw UpdraftError.badRequest("Servers are created in a project: use a project-scoped token.")
        }
        guard request.minCount >= 1, request.maxCount >= request.minCount else {
            throw UpdraftError.badRequest("min_count must be 1 or more and no greater than max_count.")
        }
        if let zone = request.availabilityZone, !zone.isEmpty,
            zone.split(separator: ":").first.map(String.init) != configuration.availabilityZone
        {
            throw UpdraftError.badRequest("The requested availability zone is not available")
        }
        if let userData = request.userData, Data(base64Encoded: userData, options: .ignoreUnknownCharacters) == nil {
            throw UpdraftError.badRequest("Invalid input for field/attribute user_data. Value: not valid base64.")
        }
        let bootsFromVolume = request.blockDevices.contains { $0.bootIndex == 0 }
        let image =
            bootsFromVolume
            ? ComputeImage(
                id: "", name: "", status: "active", diskFormat: "raw", path: nil, minDisk: 0, minRam: 0, size: 0,
                properties: [:], createdAt: self.now, updatedAt: self.now)
            : try await bootableImage(request.imageID, caller: caller)
        // An image can ask for volumes itself (a volume-backed server's snapshot maps volume
        // snapshots): they join the request's, as Nova merges them.
        let blockDevices = Self.merge(image: try Self.imageBlockDevices(image), requested: request.blockDevices)
        let volumeBacked = blockDevices.contains { $0.bootIndex == 0 }
        if !blockDevices.isEmpty { _ = try requireVolumes() }
        if blockDevices.contains(where: { $0.sourceType == "volume" }), request.maxCount > 1 {
            throw UpdraftError.badRequest("Block device mapping is invalid: one volume cannot be attached to several servers.")
        }
        for device in blockDevices where device.sourceType == "image" {
            let source = try await bootableImage(device.uuid ?? "", caller: caller)
            if let size = device.volumeSize, source.minDisk > size {
                throw UpdraftError.badRequest(
                    "Volume is smaller than the minimum size specified in image metadata. Volume size is \(size) GiB. Minimum size is \(source.minDisk) GiB."
                )
            }
        }
        let flavor = try await requestedFlavor(request.flavorID, caller: caller)
        guard !flavor.disabled else { throw UpdraftError.badRequest("Flavor \(flavor.id) is disabled.") }
        // The root of a volume-backed server is its volume, not the flavor's disk.
        if !volumeBacked, flavor.disk > 0, image.minDisk > flavor.disk {
            throw UpdraftError.badRequest(
                "Flavor's disk is too small for requested image. Flavor disk is \(flavor.disk) GB, minimum disk is \(image.minDisk) GB."
            )
        }
        if image.minRam > flavor.ram {
            throw UpdraftError.badRequest("Flavor's memory is too small for requested image.")
        }
        if !volumeBacked, flavor.disk > 0, image.size > flavor.disk << 30 {
            throw UpdraftError.badRequest(
                "Flavor's disk is too small for requested image. Flavor disk is \(flavor.disk << 30) bytes, image is \(image.size) bytes."
            )
        }
        try await allocations?.authorizeBurn(projectID: projectID, flavor: flavor)
        var keyData: String?
        if let keyName = request.keyName {
            guard let pair = try? await keypair(keyName, userID: caller.userID) else {
                throw UpdraftError.badRequest("Invalid key_name provided.")
            }
            keyData = pair.publicKey
        }
        let (nics, groups) = try await resolveNetworks(request, caller: caller)
        let limits = try await quotaLimits(projectID)
        if let maxItems = limits["metadata_items"], maxItems >= 0, request.metadata.count > maxItems {
            throw UpdraftError.forbidden(
                "Quota exceeded for metadata_items: Maximum number of metadata items exceeds \(maxItems)")
        }
        let publicKey = keyData
        let kernelID = image.properties["kernel_id"]
        let ramdiskID = image.properties["ramdisk_id"]
        let reservation = "r-" + Identifier.make().prefix(8)
        let zone = configuration.availabilityZone
        let instances = try await database.write { db in
            // Nova creates max_count when quota allows, else min_count, else refuses.
            var count = request.maxCount
            do {
                try await self.checkQuota(
                    projectID, instances: count, cores: flavor.vcpus * count, ram: flavor.ram * count, db)
            } catch let error as UpdraftError where error.code == .forbidden && request.minCount < request.maxCount {
                count = request.minCount
                try await self.checkQuota(
                    projectID, instances: count, cores: flavor.vcpus * count, ram: flavor.ram * count, db)
            }
            var created: [Instance] = []
            var sequence = try await db.nextValue("seq", of: "instances")
            for index in 0..<count {
                let now = self.now
                let name = count > 1 ? "\(request.name)-\(index + 1)" : request.name
                var i = Instance(
                    id: UUID().uuidString.lowercased(), name: name, projectID: projectID, userID: caller.userID,
                    imageID: image.id, flavor: flavor, availabilityZone: zone, createdAt: now)
                i.sequence = sequence
                sequence += 1
                i.keyName = request.keyName
                i.keyData = publicKey
                i.userData = request.userData
                i.metadata = request.metadata
                i.configDrive = request.configDrive
                i.launchIndex = index
                i.reservationID = reservation
                i.hostname = Self.hostname(for: name)
                i.description = request.description
                i.accessIPv4 = request.accessIPv4 ?? ""
                i.accessIPv6 = request.accessIPv6 ?? ""
                i.tags = request.tags
                i.kernelID = kernelID
                i.ramdiskID = ramdiskID
                i.requestedNICs = nics
                i.securityGroups = groups
                try await self.repository.insert(i, db)
                try await self.repository.startAction(
                    "create", instance: i, requestID: requestID, userID: caller.userID, projectID: projectID, db)
                created.append(i)
            }
            return created
        }
        try await requestBlockDevices(blockDevices, for: instances, caller: caller)
        for instance in instances { enqueue(.spawn(instance.id)) }
        return CreateResult(servers: instances, adminPass: request.adminPass ?? Self.generatedPassword())
    }

    /// An `adminPass` for a create or rebuild that names none: 12 random lowercase hex digits.
    static func generatedPassword() -> String {
        String(Identifier.make().prefix(12))
    }

    /// An active image the caller may boot, with its kernel and ramdisk checked too.
    func bootableImage(_ id: String, caller: AuthContext) async throws -> ComputeImage {
        let image: ComputeImage
        do {
            image = try await images.image(id, caller: caller)
        } catch let error as UpdraftError where error.code == .notFound {
            throw UpdraftError.badRequest("Can not find requested image")
        }
        guard image.status == "active" else {
            throw UpdraftError.badRequest("Image \(id) is not active.")
        }
        return image
    }

    /// A DNS label from a display name, as Nova's `sanitize_hostname` makes it.
    static func hostname(for name: String) -> String {
        let lowered = name.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }
        let trimmed = String(lowered).trimmingCharacters(in: CharacterSet(charactersIn: "-."))
        return trimmed.isEmpty ? "server" : String(trimmed.prefix(63))
    }

    /// The filters `GET /servers` and `/servers/detail` accept.
    public struct ListQuery: Sendable {
        /// nil lists every project's servers (an admin's `all_tenants`).
        public var projectID: String?
        public var name: String?
        public var status: [VMState]?
        public var imageID: String?
        public var flavorID: String?
        public var host: String?
        public var changesSince: Date?
        /// Regular expressions on a server's IPv4 and IPv6 addresses.
        public var ip: String?
        public var ip6: String?
        public var reservationID: String?
        public var userID: String?
        public var limit: Int?
        public var marker: String?
        public var sortAscending = false
        public var sortKey = "created_at"
        public var includeDeleted = false
        public var locked: Bool?
        public var tags: [String] = []

        public init(projectID: String?) {
            self.projectID = projectID
        }
    }

    /// Serves `GET /servers[/detail]`: newest first, paginated by `marker` as Nova does.
    public func listServers(_ q: ListQuery) async throws -> [Instance] {
        let limit = max(0, min(q.limit ?? configuration.maxLimit, configuration.maxLimit))
        let sortColumn =
            [
                "created_at", "updated_at", "display_name", "name", "launched_at", "vm_state", "task_state", "power_state",
                "host",
                "uuid", "id",
            ].contains(q.sortKey) ? q.sortKey : "created_at"
        let column: String =
            switch sortColumn {
            case "display_name": "name"
            case "uuid", "id": "id"
            default: sortColumn
            }
        let rows = try await database.read { db in
            var sql = SQLQueryString("SELECT * FROM instances WHERE ")
            if q.includeDeleted || q.changesSince != nil {
                sql += "1 = 1"
            } else {
                sql += "deleted = \(bind: false)"
            }
            if let project = q.projectID { sql += " AND project_id = \(bind: project)" }
            if let states = q.status { sql += " AND vm_state IN (\(binds: states.map(\.rawValue)))" }
            if let image = q.imageID { sql += " AND image_id = \(bind: image)" }
            if let host = q.host { sql += " AND host = \(bind: host)" }
            if let since = q.changesSince { sql += " AND updated_at >= \(bind: since.timeIntervalSince1970)" }
            if let reservation = q.reservationID { sql += " AND reservation_id = \(bind: reservation)" }
            if let user = q.userID { sql += " AND user_id = \(bind: user)" }
            if let locked = q.locked { sql += " AND locked = \(bind: locked)" }
            let direction = q.sortAscending ? "ASC" : "DESC"
            if let marker = q.marker {
                guard
                    let row = try await db.raw("SELECT \(ident: column) AS v, id FROM instances WHERE id = \(bind: marker)")
                        .first()
                else { throw UpdraftError.badRequest("marker [\(marker)] not found") }
                let op = q.sortAscending ? ">" : "<"
                if column == "id" {
                    sql += " AND id \(unsafeRaw: op) \(bind: marker)"
                } else if let value = try? row.double("v") {
                    sql +=
                        " AND (\(ident: column) \(unsafeRaw: op) \(bind: value) OR (\(ident: column) = \(bind: value) AND id \(unsafeRaw: op) \(bind: marker)))"
                } else if let value = try? row.string("v") {
                    sql +=
                        " AND (\(ident: column) \(unsafeRaw: op) \(bind: value) OR (\(ident: column) = \(bind: value) AND id \(unsafeRaw: op) \(bind: marker)))"
                }
            }
            sql += " ORDER BY \(ident: column) \(unsafeRaw: direction), id \(unsafeRaw: direction)"
            // Filters SQL cannot express run after the query, so fetch past the limit only then.
            let postFiltered = q.name != nil || q.flavorID != nil || q.ip != nil || q.ip6 != nil || !q.tags.isEmpty
            if !postFiltered { sql += " LIMIT \(bind: limit)" }
            var rows = try await db.raw(sql).all().map(self.repository.instance)
            if let name = q.name, let regex = try? Regex(name) {
                rows = rows.filter { $0.name.contains(regex) }
            }
            if let flavor = q.flavorID { rows = rows.filter { $0.flavor.id == flavor } }
            if !q.tags.isEmpty { rows = rows.filter { Set($0.tags).isSuperset(of: q.tags) } }
            return rows
        }
        guard q.ip != nil || q.ip6 != nil else { return Array(rows.prefix(limit)) }
        // Nova's `ip` and `ip6`: regular expressions searched in each address of that version
        // (read after the instances' read: networking has its own).
        let patterns = [(4, q.ip), (6, q.ip6)].compactMap { version, text in
            text.map { (version: version, text: $0, regex: try? Regex($0)) }
        }
        let addresses = try await networks?.networking(of: rows.map(\.id)) ?? [:]
        return Array(
            rows.filter { instance in
                let all = (addresses[instance.id]?.addresses ?? []).flatMap(\.addresses)
                return patterns.allSatisfy { pattern in
                    all.contains { address in
                        address.version == pattern.version
                            && (pattern.regex.map { address.address.contains($0) } ?? address.address.contains(pattern.text))
                    }
                }
            }
            .prefix(limit))
    }

    /// One server the caller's project owns (any server for an admin); 404 otherwise.
    public func server(_ id: String, caller: AuthContext) async throws -> Instance {
        let instance = try await database.read { db in try await self.instance(id, db) }
        guard Policy.isAdmin(caller) || instance.projectID == caller.projectID else {
            throw UpdraftError.notFound("Instance \(id) could not be found.")
        }
        return instance
    }

    /// Serves `PUT /servers/{id}`: name, description, hostname and access addresses.
    public func updateServer(
        _ id: String, caller: AuthContext, name: String?, description: String??, accessIPv4: String?, accessIPv6: String?
    ) async throws -> Instance {
        _ = try await server(id, caller: caller)
        return try await mutate(id) { i in
            if let name {
                i.name = name
            }
            if let description { i.description = description }
            if let accessIPv4 { i.accessIPv4 = accessIPv4 }
            if let accessIPv6 { i.accessIPv6 = accessIPv6 }
        }
    }

    /// Serves the server metadata calls: `replace` swaps the whole set, otherwise `set` merges
    /// and `remove` deletes one key (404 when absent).
    public func updateMetadata(
        _ id: String, caller: AuthContext, set: [String: String], replace: Bool, remove: String? = nil
    ) async throws -> [String: String] {
        let instance = try await server(id, caller: caller)
        let limit = try await quotaLimits(instance.projectID)["metadata_items"] ?? -1
        return try await mutate(id) { i in
            if replace { i.metadata = [:] }
            i.metadata.merge(set) { $1 }
            if let remove, i.metadata.removeValue(forKey: remove) == nil {
                throw UpdraftError.notFound("Metadata item was not found")
            }
            if limit >= 0 && i.metadata.count > limit {
                throw UpdraftError.forbidden(
                    "Quota exceeded for metadata_items: Maximum number of metadata items exceeds \(limit)")
            }
        }.metadata
    }

    /// Serves the server tag calls (2.26): `change` edits the tags, which are then checked as
    /// Nova checks them (at most 50, each 1 to 60 characters without `/` or `,`).
    public func updateTags(
        _ id: String, caller: AuthContext, _ change: @Sendable @escaping (inout [String]) throws -> Void
    ) async throws -> [String] {
        _ = try await server(id, caller: caller)
        return try await mutate(id) { i in
            var tags = i.tags
            try change(&tags)
            for tag in tags where tag.isEmpty || tag.count > 60 || tag.contains("/") || tag.contains(",") {
                throw UpdraftError.badRequest("Invalid input for field/attribute tags. Value: \(tag.debugDescription).")
            }
            // Order kept, duplicates dropped.
            var seen = Set<String>()
            tags = tags.filter { seen.insert($0).inserted }
            guard tags.count <= 50 else {
                throw UpdraftError.badRequest("The number of tags exceeded the per-server limit 50")
            }
            i.tags = tags
        }.tags
    }

    /// Serves `DELETE /servers/{id}`: refused while locked (unless admin); the instance shows
    /// `deleting` until its host has let go of it.
    public func deleteServer(_ id: String, caller: AuthContext, requestID: String) async throws {
        let instance = try await server(id, caller: caller)
        try checkLock(instance, caller: caller)
        try ServerAction.delete.check(instance.vmState, instance.taskState, id: id)
        // A delete under way is not started twice.
        if instance.taskState == .deleting { return }
        _ = try await database.write { db in
            try await self.repository.startAction(
                "delete", instance: instance, requestID: requestID, userID: caller.userID,
                projectID: caller.projectID ?? instance.projectID, db)
        }
        try await mutate(id) { i in i.taskState = .deleting }
        enqueue(.destroy(id))
    }

    /// A locked server refuses changes from anyone but an admin (Nova's 409).
    func checkLock(_ instance: Instance, caller: AuthContext) throws {
        if instance.locked && !Policy.isAdmin(caller) {
            throw UpdraftError.conflict("Instance \(instance.id) is locked")
        }
    }

    /// Serves `GET /servers/{id}/os-instance-actions`.
    /// `includeDeleted` (microversion 2.21): a deleted server's actions too.
    public func actions(_ id: String, caller: AuthContext, includeDeleted: Bool = false) async throws -> [InstanceAction] {
        try await database.read { db in
            var sql = SQLQueryString("SELECT project_id FROM instances WHERE id = \(bind: id)")
            if !includeDeleted { sql += " AND deleted = \(bind: false)" }
            let owner = try await db.raw(sql).first()?.string("project_id")
            guard let owner, Policy.isAdmin(caller) || owner == caller.projectID else {
                throw UpdraftError.notFound("Instance \(id) could not be found.")
            }
            return try await self.repository.actions(instanceID: id, db)
        }
    }
}

import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// Servers: create, list, show, update, delete, metadata, tags and instance actions.
extension ComputeController {
    func registerServers(on v: RouteGroup) {
        let compute = compute
        route(v, .post, "servers", .member) { request, _, call in
            let body = try await self.body(request, "server")
            // The whole request is read and checked before anything is created: a 400 changes nothing.
            var create = try self.createRequest(body, call)
            let returnReservation = try body.looseBool("return_reservation_id") == true
            create.adminPass = try body.string("adminPass")
            let created = try await compute.createServers(create, caller: call.caller, requestID: call.requestID)
            let servers = created.servers
            if returnReservation {
                return call.respond(
                    .object(["reservation_id": .string(servers.first?.reservationID ?? "")]), status: .accepted)
            }
            guard let first = servers.first else { throw UpdraftError.internal("no server was created") }
            return call.respond(
                .object([
                    "server": .object([
                        "id": .string(first.id), "links": ServerView.links(call, "servers", first.id),
                        "OS-DCF:diskConfig": "MANUAL", "security_groups": .array([.object(["name": "default"])]),
                        "adminPass": .string(created.adminPass),
                    ])
                ]), status: .accepted,
                headers: [.location: "\(call.base)/servers/\(first.id)"])
        }
        route(v, .get, "servers", .authenticated) { request, _, call in
            let servers = try await compute.listServers(try self.listQuery(request, call))
            return call.respond(
                self.page("servers", servers.map { ServerView.summary($0, call) }, servers.last?.id, request, call))
        }
        route(v, .get, "servers/detail", .authenticated) { request, _, call in
            let servers = try await compute.listServers(try self.listQuery(request, call))
            let networking = try await compute.networking(of: servers)
            let volumes = try await compute.volumeMappings(of: servers)
            return call.respond(
                self.page(
                    "servers",
                    servers.map {
                        ServerView.detail($0, call, networking: networking[$0.id], volumes: volumes[$0.id] ?? [])
                    }, servers.last?.id, request, call))
        }
        route(v, .get, "servers/:id", .authenticated) { _, context, call in
            let server = try await compute.server(try context.parameter("id"), caller: call.caller)
            let networking = try await compute.networking(of: [server])
            let volumes = try await compute.volumeMappings(of: [server])[server.id] ?? []
            return call.respond(
                .object(["server": ServerView.detail(server, call, networking: networking[server.id], volumes: volumes)]))
        }
        route(v, .put, "servers/:id", .member) { request, context, call in
            let id = try context.parameter("id")
            let body = try await self.body(request, "server")
            _ = try await self.serverToChange(id, call)
            let name = try body.string("name")
            if let name, name.isEmpty || name.count > 255 {
                throw UpdraftError.badRequest("Invalid input for field/attribute name.")
            }
            var description: String??
            if body.has("description") {
                guard call.version.atLeast(19) else {
                    throw UpdraftError.badRequest("Additional properties are not allowed ('description' was unexpected)")
                }
                description = .some(try body.string("description"))
            }
            let updated = try await compute.updateServer(
                id, caller: call.caller, name: name, description: description,
                accessIPv4: try Self.canonicalAddress(try body.string("accessIPv4"), v6: false, field: "accessIPv4"),
                accessIPv6: try Self.canonicalAddress(try body.string("accessIPv6"), v6: true, field: "accessIPv6"))
            let networking = try await compute.networking(of: [updated])[id]
            return call.respond(.object(["server": .object(ServerView.trimmed(updated, call, networking: networking))]))
        }
        route(v, .delete, "servers/:id", .member) { _, context, call in
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            try await compute.deleteServer(id, caller: call.caller, requestID: call.requestID)
            return call.empty(.noContent)
        }
        route(v, .get, "servers/:id/ips", .authenticated) { _, context, call in
            let server = try await compute.server(try context.parameter("id"), caller: call.caller)
            let networking = try await compute.networking(of: [server])[server.id]
            return call.respond(.object(["addresses": ServerView.addresses(networking)]))
        }
        route(v, .get, "servers/:id/ips/:network", .authenticated) { _, context, call in
            let server = try await compute.server(try context.parameter("id"), caller: call.caller)
            let network = try context.parameter("network")
            guard case .object(let all) = ServerView.addresses(try await compute.networking(of: [server])[server.id]),
                let addresses = all[network]
            else { throw UpdraftError.notFound("Instance is not a member of specified network") }
            return call.respond(.object([network: addresses]))
        }
        registerInterfaces(on: v)
        route(v, .get, "servers/:id/os-instance-actions", .authenticated) { _, context, call in
            let actions = try await compute.actions(
                try context.parameter("id"), caller: call.caller, includeDeleted: call.version.atLeast(21))
            return call.respond(.object(["instanceActions": .array(actions.map { self.action($0, events: false, call) })]))
        }
        route(v, .get, "servers/:id/os-instance-actions/:request", .authenticated) { _, context, call in
            let requestID = try context.parameter("request")
            let actions = try await compute.actions(
                try context.parameter("id"), caller: call.caller, includeDeleted: call.version.atLeast(21))
            guard let action = actions.first(where: { $0.requestID == requestID }) else {
                throw UpdraftError.notFound("Action for request_id \(requestID) on instance could not be found")
            }
            return call.respond(.object(["instanceAction": self.action(action, events: true, call)]))
        }
        registerMetadata(on: v)
        registerTags(on: v)
    }

    func action(_ a: InstanceAction, events: Bool, _ call: Call) -> JSONValue {
        var o: [String: JSONValue] = [
            "action": .string(a.action), "instance_uuid": .string(a.instanceID), "request_id": .string(a.requestID),
            "user_id": .string(a.userID), "project_id": .string(a.projectID), "start_time": a.startTime.novaUsage,
            "message": a.message.map(JSONValue.string) ?? .null,
        ]
        if events {
            o["events"] = .array(
                a.events.map { e in
                    var event: [String: JSONValue] = [
                        "event": .string(e.event), "start_time": e.startTime.novaUsage,
                        "finish_time": e.finishTime?.novaUsage ?? .null, "result": e.result.map(JSONValue.string) ?? .null,
                    ]
                    if call.isAdmin { event["traceback"] = e.traceback.map(JSONValue.string) ?? .null }
                    return .object(event)
                })
        }
        return .object(o)
    }

    /// `{"<key>": [...], "<key>_links": [{"rel": "next", ...}]}` when the page is full.
    func page(_ key: String, _ items: [JSONValue], _ lastID: String?, _ request: Request, _ call: Call) -> JSONValue {
        var body: [String: JSONValue] = [key: .array(items)]
        let limit = (try? self.limit(request)) ?? compute.configuration.maxLimit
        if let lastID, items.count >= limit {
            var query = request.query
            query["marker"] = lastID
            let text = query.sorted { $0.key < $1.key }.map {
                "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0.value)"
            }.joined(separator: "&")
            let path = request.uri.path.split(separator: "/").drop { $0 != "v2.1" }.dropFirst().joined(separator: "/")
            body["\(key)_links"] = .array([.object(["rel": "next", "href": .string("\(call.base)/\(path)?\(text)")])])
        }
        return .object(body)
    }

    func listQuery(_ request: Request, _ call: Call) throws -> ComputeService.ListQuery {
        let q = request.query
        let allTenants = q["all_tenants"].map { ["", "1", "true", "True", "yes"].contains($0) } ?? false
        var query = ComputeService.ListQuery(projectID: call.caller.projectID)
        if call.isAdmin {
            if allTenants { query.projectID = nil }
            if let tenant = q["tenant_id"] ?? q["project_id"] { query.projectID = tenant }
        } else if query.projectID == nil {
            throw UpdraftError.forbidden("Listing servers needs a project-scoped token.")
        }
        query.limit = try limit(request)
        query.marker = q["marker"]
        query.name = q["name"] ?? q["display_name"]
        if let status = q["status"] {
            guard let states = ServerStatus.vmStates(for: status) else {
                if call.version.atLeast(38) { throw UpdraftError.badRequest("Invalid status value") }
                query.status = []
                return query
            }
            query.status = states
        }
        if let state = q["vm_state"] { query.status = [VMState(rawValue: state) ?? .deleted] }
        if let image = q["image"] ?? q["image_ref"] { query.imageID = String(image.split(separator: "/").last ?? "") }
        if let flavor = q["flavor"] { query.flavorID = String(flavor.split(separator: "/").last ?? "") }
        if call.isAdmin { query.host = q["host"] ?? q["node"] }
        if let since = q["changes-since"] ?? q["changes_since"] {
            guard let date = Timestamp.parse(since) else {
                throw UpdraftError.badRequest("Invalid filter field: changes-since.")
            }
            query.changesSince = date
        }
        query.ip = q["ip"]
        query.ip6 = q["ip6"]
        query.reservationID = q["reservation_id"]
        if call.isAdmin { query.userID = q["user_id"] }
        if let locked = q["locked"] { query.locked = ["true", "1", "True"].contains(locked) }
        if q["deleted"].map({ ["true", "1", "True"].contains($0) }) == true, call.isAdmin { query.includeDeleted = true }
        if let tags = q["tags"] { query.tags = tags.split(separator: ",").map(String.init) }
        if let dir = q["sort_dir"] { query.sortAscending = dir.lowercased() == "asc" }
        if let key = q["sort_key"] { query.sortKey = key }
        return query
    }

    func createRequest(_ body: JSONObject, _ call: Call) throws -> ComputeService.CreateRequest {
        let name = try body.requiredString("name", maxLength: 255)
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.trimmingCharacters(in: .whitespaces) == name,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw UpdraftError.badRequest("Invalid input for field/attribute name. Value: \(name.debugDescription).")
        }
        let userData = try body.string("user_data")
        if let userData {
            // Nova's schema: base64, at most 65535 bytes as sent.
            guard userData.utf8.count <= 65535, Data(base64Encoded: userData, options: .ignoreUnknownCharacters) != nil
            else {
                throw UpdraftError.badRequest(
                    "Invalid input for field/attribute user_data. Value: it is not a base64 string of at most 65535 bytes.")
            }
        }
        var imageRef = try body.string("imageRef") ?? ""
        let (localImage, blockDevices) = try Self.blockDevices(body, call)
        if imageRef.isEmpty, let localImage { imageRef = localImage }
        let bootsFromVolume = blockDevices.contains { $0.bootIndex == 0 }
        if bootsFromVolume { imageRef = "" }
        guard !imageRef.isEmpty || bootsFromVolume else { throw UpdraftError.badRequest("Missing imageRef attribute") }
        guard let flavorRef = try body.reference("flavorRef") else {
            throw UpdraftError.badRequest("Missing flavorRef attribute")
        }
        if call.version.atLeast(37), body.fields["networks"] == nil {
            throw UpdraftError.badRequest("Invalid input for field/attribute networks: it is required from 2.37.")
        }
        let networks = try Self.networkRequest(body.fields["networks"], call)
        var groups: [String] = []
        if let list = try body.array("security_groups") {
            groups = try list.map { item in
                guard let name = try JSONObject(item.objectFields ?? [:], path: "security_groups").string("name"),
                    !name.isEmpty
                else { throw UpdraftError.badRequest("Invalid input for field/attribute security_groups.") }
                return name
            }
        }
        let minCount = try body.novaInteger("min_count", in: 1...Int(Int32.max)) ?? 1
        let maxCount = try body.novaInteger("max_count", in: 1...Int(Int32.max)) ?? minCount
        var description: String?
        if body.has("description") {
            guard call.version.atLeast(19) else {
                throw UpdraftError.badRequest("Additional properties are not allowed ('description' was unexpected)")
            }
            description = try body.string("description")
        }
        var request = ComputeService.CreateRequest(
            name: name, imageID: String(imageRef.split(separator: "/").last ?? ""),
            flavorID: String(flavorRef.split(separator: "/").last ?? ""), keyName: try body.string("key_name"),
            userData: userData, metadata: try body.stringMap("metadata") ?? [:],
            configDrive: try body.looseBool("config_drive") ?? false, minCount: minCount, maxCount: maxCount,
            availabilityZone: try body.string("availability_zone"), description: description,
            accessIPv4: try Self.canonicalAddress(try body.string("accessIPv4"), v6: false, field: "accessIPv4"),
            accessIPv6: try Self.canonicalAddress(try body.string("accessIPv6"), v6: true, field: "accessIPv6"))
        request.networks = networks
        request.securityGroups = groups
        request.blockDevices = blockDevices
        return request
    }

    /// Nova's `block_device_mapping_v2`: the image a `local` root names (an image boot), and
    /// the volumes to make or use. Ephemeral and swap disks (`local` that is not the root
    /// image) are refused: flavors here have none.
    static func blockDevices(_ body: JSONObject, _ call: Call) throws -> (image: String?, volumes: [BlockDeviceRequest]) {
        guard let items = try body.objects("block_device_mapping_v2") else { return (nil, []) }
        var image: String?
        var volumes: [BlockDeviceRequest] = []
        for item in items {
            let source = try item.string("source_type") ?? "volume"
            guard ["volume", "image", "snapshot", "blank"].contains(source) else {
                throw UpdraftError.badRequest("Invalid input for field/attribute source_type. Value: \(source).")
            }
            let destination =
                try item.string("destination_type") ?? (source == "volume" || source == "snapshot" ? "volume" : "local")
            let bootIndex: Int?
            switch item.fields["boot_index"] {
            case nil, .null?: bootIndex = nil
            case .string(let text)?:
                guard let number = Int(text) else {
                    throw UpdraftError.badRequest("Invalid input for field/attribute boot_index. Value: \(text).")
                }
                bootIndex = number < 0 ? nil : number
            default:
                let number = try item.integer("boot_index", in: -1...Int(Int32.max))
                bootIndex = number.flatMap { $0 < 0 ? nil : $0 }
            }
            let uuid = try item.string("uuid")
            if source != "blank", uuid.map({ UUID(uuidString: $0) == nil }) ?? true {
                throw UpdraftError.badRequest("Invalid input for field/attribute uuid: a \(source) needs its id.")
            }
            if destination == "local" {
                guard source == "image", bootIndex == 0 else {
                    throw UpdraftError.badRequest(
                        "Block device mapping is invalid: ephemeral and swap disks are not supported; flavors here have none.")
                }
                image = uuid
                continue
            }
            guard destination == "volume" else {
                throw UpdraftError.badRequest("Invalid input for field/attribute destination_type. Value: \(destination).")
            }
            let size = try item.novaInteger("volume_size", in: 1...65535)
            if source == "blank" || source == "image", size == nil, source == "blank" {
                throw UpdraftError.badRequest("Block device mapping is invalid: a blank volume needs a volume_size.")
            }
            let tag = try item.string("tag")
            if tag != nil, !call.version.atLeast(42) {
                throw UpdraftError.badRequest("Additional properties are not allowed ('tag' was unexpected)")
            }
            volumes.append(
                BlockDeviceRequest(
                    sourceType: source, uuid: uuid, bootIndex: bootIndex, volumeSize: size,
                    deleteOnTermination: try item.looseBool("delete_on_termination") ?? false, tag: tag,
                    deviceName: try item.string("device_name")))
        }
        if volumes.filter({ $0.bootIndex == 0 }).count > 1 || (image != nil && volumes.contains { $0.bootIndex == 0 }) {
            throw UpdraftError.badRequest("Block device mapping is invalid: only one device may have boot_index 0.")
        }
        return (image, volumes)
    }

    /// Nova's `networks`: `"auto"` or `"none"` from 2.37, else a list of `{uuid, port,
    /// fixed_ip, tag}`; absent is unspecified.
    static func networkRequest(_ value: JSONValue?, _ call: Call) throws -> NetworkRequest {
        switch value {
        case nil:
            return .unspecified
        case .string(let word)?:
            guard call.version.atLeast(37), word == "auto" || word == "none" else {
                throw UpdraftError.badRequest("Invalid input for field/attribute networks. Value: \(word).")
            }
            return word == "auto" ? .auto : .none
        case .array(let items)?:
            return .list(
                try items.map { item in
                    guard let fields = item.objectFields else {
                        throw UpdraftError.badRequest("Bad networks format: each network must be an object.")
                    }
                    let allowed: Set<String> =
                        call.version.atLeast(32) ? ["uuid", "port", "fixed_ip", "tag"] : ["uuid", "port", "fixed_ip"]
                    if let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
                        throw UpdraftError.badRequest("Additional properties are not allowed ('\(extra)' was unexpected)")
                    }
                    let object = JSONObject(fields, path: "networks")
                    let network = try object.string("uuid")
                    let port = try object.string("port")
                    let fixedIP = try object.string("fixed_ip")
                    if let network, UUID(uuidString: network) == nil {
                        throw UpdraftError.badRequest("Bad networks format: network uuid is not in proper format (\(network))")
                    }
                    if let port, UUID(uuidString: port) == nil {
                        throw UpdraftError.badRequest("Invalid input for field/attribute port. Value: \(port).")
                    }
                    if network == nil, port == nil {
                        throw UpdraftError.badRequest("Bad networks format: a network needs a uuid or a port.")
                    }
                    if let fixedIP, (try? Self.canonicalAddress(fixedIP, v6: fixedIP.contains(":"), field: "fixed_ip")) == nil {
                        throw UpdraftError.badRequest("Invalid fixed IP address (\(fixedIP))")
                    }
                    return NICRequest(networkID: network, portID: port, fixedIP: fixedIP, tag: try object.string("tag"))
                })
        default:
            throw UpdraftError.badRequest("Invalid input for field/attribute networks.")
        }
    }

    /// `os-interface`: a server's ports, attached and detached while it runs.
    func registerInterfaces(on v: RouteGroup) {
        let compute = compute
        @Sendable func view(_ a: InterfaceAttachment) -> JSONValue {
            .object([
                "port_id": .string(a.portID), "net_id": .string(a.networkID), "mac_addr": .string(a.mac),
                "port_state": .string(a.state),
                "fixed_ips": .array(
                    a.fixedIPs.map { .object(["subnet_id": .string($0.subnetID), "ip_address": .string($0.address)]) }),
            ])
        }
        route(v, .get, "servers/:id/os-interface", .authenticated) { _, context, call in
            let attachments = try await compute.interfaces(try context.parameter("id"), caller: call.caller)
            return call.respond(.object(["interfaceAttachments": .array(attachments.map(view))]))
        }
        route(v, .get, "servers/:id/os-interface/:port", .authenticated) { _, context, call in
            let port = try context.parameter("port")
            let attachments = try await compute.interfaces(try context.parameter("id"), caller: call.caller)
            guard let found = attachments.first(where: { $0.portID == port }) else {
                throw UpdraftError.notFound("Port \(port) is not attached")
            }
            return call.respond(.object(["interfaceAttachment": view(found)]))
        }
        route(v, .post, "servers/:id/os-interface", .member) { request, context, call in
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            let body = try await self.body(request, "interfaceAttachment")
            var nic = NICRequest(networkID: try body.string("net_id"), portID: try body.string("port_id"))
            if nic.networkID != nil, nic.portID != nil {
                throw UpdraftError.badRequest("Must not input both network_id and port_id")
            }
            if let ips = try body.array("fixed_ips") {
                guard ips.count <= 1 else { throw UpdraftError.badRequest("Only one fixed IP may be asked for.") }
                nic.fixedIP = try ips.first.flatMap { try JSONObject($0).string("ip_address") }
            }
            let attached = try await compute.attachInterface(id, nic, caller: call.caller)
            return call.respond(.object(["interfaceAttachment": view(attached)]))
        }
        route(v, .delete, "servers/:id/os-interface/:port", .member) { _, context, call in
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            try await compute.detachInterface(id, portID: try context.parameter("port"), caller: call.caller)
            return call.empty()
        }
        route(v, .get, "servers/:id/os-security-groups", .authenticated) { _, context, call in
            let server = try await compute.server(try context.parameter("id"), caller: call.caller)
            let groups = try await compute.networking(of: [server])[server.id]?.securityGroups ?? []
            return call.respond(
                .object(["security_groups": .array(groups.map { .object(["name": .string($0)]) })]))
        }
    }

    /// Server tags (from microversion 2.26) and the server password (Nova's `os-server-password`;
    /// no guest sets one yet, so it is empty).
    func registerTags(on v: RouteGroup) {
        let compute = compute
        @Sendable func tagged(_ call: Call) throws {
            guard call.version.atLeast(26) else { throw UpdraftError.notFound("The resource could not be found.") }
        }
        @Sendable func list(_ tags: [String]) -> JSONValue { .object(["tags": .array(tags.map(JSONValue.string))]) }
        route(v, .get, "servers/:id/tags", .authenticated) { _, context, call in
            try tagged(call)
            return call.respond(list(try await compute.server(try context.parameter("id"), caller: call.caller).tags))
        }
        route(v, .put, "servers/:id/tags", .member) { request, context, call in
            try tagged(call)
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            guard let tags = try JSONObject(try await request.json(limit: self.bodyLimit)).strings("tags") else {
                throw UpdraftError.badRequest("Invalid input for field/attribute tags: a list of strings is required.")
            }
            return call.respond(list(try await compute.updateTags(id, caller: call.caller) { $0 = tags }))
        }
        route(v, .delete, "servers/:id/tags", .member) { _, context, call in
            try tagged(call)
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            _ = try await compute.updateTags(id, caller: call.caller) { $0 = [] }
            return call.empty(.noContent)
        }
        route(v, .get, "servers/:id/tags/:tag", .authenticated) { _, context, call in
            try tagged(call)
            let tag = try context.parameter("tag")
            guard try await compute.server(try context.parameter("id"), caller: call.caller).tags.contains(tag) else {
                throw UpdraftError.notFound("Tag \(tag) could not be found.")
            }
            return call.empty(.noContent)
        }
        route(v, .put, "servers/:id/tags/:tag", .member) { _, context, call in
            try tagged(call)
            let id = try context.parameter("id")
            let tag = try context.parameter("tag")
            let server = try await self.serverToChange(id, call)
            if server.tags.contains(tag) { return call.empty(.noContent) }
            _ = try await compute.updateTags(id, caller: call.caller) { $0.append(tag) }
            return call.empty(.created, headers: [.location: "\(call.base)/servers/\(id)/tags/\(tag)"])
        }
        route(v, .delete, "servers/:id/tags/:tag", .member) { _, context, call in
            try tagged(call)
            let id = try context.parameter("id")
            let tag = try context.parameter("tag")
            _ = try await self.serverToChange(id, call)
            _ = try await compute.updateTags(id, caller: call.caller) { tags in
                guard tags.contains(tag) else { throw UpdraftError.notFound("Tag \(tag) could not be found.") }
                tags.removeAll { $0 == tag }
            }
            return call.empty(.noContent)
        }
        route(v, .get, "servers/:id/os-server-password", .authenticated) { _, context, call in
            _ = try await compute.server(try context.parameter("id"), caller: call.caller)
            return call.respond(.object(["password": ""]))
        }
        route(v, .delete, "servers/:id/os-server-password", .member) { _, context, call in
            _ = try await self.serverToChange(try context.parameter("id"), call)
            return call.empty(.noContent)
        }
    }

    func registerMetadata(on v: RouteGroup) {
        let compute = compute
        @Sendable func map(_ m: [String: String]) -> JSONValue { .object(m.mapValues(JSONValue.string)) }
        route(v, .get, "servers/:id/metadata", .authenticated) { _, context, call in
            let server = try await compute.server(try context.parameter("id"), caller: call.caller)
            return call.respond(.object(["metadata": map(server.metadata)]))
        }
        route(v, .put, "servers/:id/metadata", .member) { request, context, call in
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            let values = try JSONObject(try await request.json(limit: self.bodyLimit)).stringMap("metadata") ?? [:]
            let result = try await compute.updateMetadata(id, caller: call.caller, set: values, replace: true)
            return call.respond(.object(["metadata": map(result)]))
        }
        route(v, .post, "servers/:id/metadata", .member) { request, context, call in
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            guard let values = try JSONObject(try await request.json(limit: self.bodyLimit)).stringMap("metadata") else {
                throw UpdraftError.badRequest("Malformed request body: metadata is required.")
            }
            let result = try await compute.updateMetadata(id, caller: call.caller, set: values, replace: false)
            return call.respond(.object(["metadata": map(result)]))
        }
        route(v, .get, "servers/:id/metadata/:key", .authenticated) { _, context, call in
            let server = try await compute.server(try context.parameter("id"), caller: call.caller)
            let key = try context.parameter("key")
            guard let value = server.metadata[key] else { throw UpdraftError.notFound("Metadata item was not found") }
            return call.respond(.object(["meta": .object([key: .string(value)])]))
        }
        route(v, .put, "servers/:id/metadata/:key", .member) { request, context, call in
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            let key = try context.parameter("key")
            guard let meta = try JSONObject(try await request.json(limit: self.bodyLimit)).stringMap("meta"), meta.count == 1
            else { throw UpdraftError.badRequest("Request body contains too many items") }
            guard meta[key] != nil else { throw UpdraftError.badRequest("Request body and URI mismatch") }
            _ = try await compute.updateMetadata(id, caller: call.caller, set: meta, replace: false)
            return call.respond(.object(["meta": map(meta)]))
        }
        route(v, .delete, "servers/:id/metadata/:key", .member) { _, context, call in
            let id = try context.parameter("id")
            _ = try await self.serverToChange(id, call)
            _ = try await compute.updateMetadata(
                id, caller: call.caller, set: [:], replace: false,
                remove: try context.parameter("key"))
            return call.empty(.noContent)
        }
    }
}

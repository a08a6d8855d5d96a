import Foundation
import HTTPTypes
import Hummingbird
import UpdraftCore
import UpdraftNetwork

/// The Neutron v2.0 API under `/networking`: parses, authorises and maps; the logic is in
/// ``NetworkService``. Every list takes Neutron's filters, `fields`, sorting and pagination
/// (``NeutronQuery``); every resource has Neutron's tag routes.
struct NetworkController: Sendable {
    typealias Context = UpdraftRequestContext

    let network: NetworkService
    let publicBase: @Sendable (Request) -> String
    let bodyLimit: Int
    /// Port bodies kept between lists, by version.
    let portBodies = EncodedPorts()

    /// Attributes only an administrator sees, by collection.
    static let responder = Responder(base: "")

    func register(on routes: Routes) {
        let root = routes.group("networking")
        root.add(.get, "", .anyone) { request, _ in self.versions(request) }
        let v2 = routes.group("networking/v2.0")
        v2.add(.get, "", .anyone) { request, _ in self.resources(request) }
        v2.add(.get, "extensions", .authenticated) { _, _ in
            Self.responder.respond(JSONValue.object(["extensions": .array(NeutronExtensions.all.map(\.json))]))
        }
        v2.add(.get, "extensions/:alias", .authenticated) { _, context in
            let alias = try context.parameter("alias")
            guard let found = NeutronExtensions.all.first(where: { $0.alias == alias }) else {
                throw UpdraftError(.notFound, "Extension with alias \(alias) does not exist", kind: "ExtensionNotFound")
            }
            return Self.responder.respond(JSONValue.object(["extension": found.json]))
        }
        registerResources(on: v2)
        registerRouterInterfaces(on: v2)
        registerQuotas(on: v2)
        registerAvailability(on: v2)
    }

    /// Serves `GET /networking`: Neutron's version list.
    func versions(_ request: Request) -> Response {
        let href = publicBase(request) + "/networking/v2.0/"
        return Self.responder.respond(
            JSONValue.object([
                "versions": .array([
                    .object([
                        "id": "v2.0", "status": "CURRENT", "links": .array([.object(["href": .string(href), "rel": "self"])]),
                    ])
                ])
            ]))
    }

    /// Serves `GET /networking/v2.0`: the collections.
    func resources(_ request: Request) -> Response {
        let base = publicBase(request) + "/networking/v2.0/"
        let names = [
            ("network", "networks"), ("subnet", "subnets"), ("port", "ports"), ("router", "routers"),
            ("floatingip", "floatingips"), ("security_group", "security-groups"),
            ("security_group_rule", "security-group-rules"),
        ]
        return Self.responder.respond(
            JSONValue.object([
                "resources": .array(
                    names.map { name, collection in
                        .object([
                            "name": .string(name), "collection": .string(collection),
                            "links": .array([.object(["href": .string(base + collection), "rel": "self"])]),
                        ])
                    })
            ]))
    }

    // MARK: Answers

    /// Encodes resources as JSON objects, without the attributes `caller` may not see.
    static func objects(_ items: [some Encodable], collection: String, caller: AuthContext) throws -> [[String: JSONValue]] {
        guard case .array(let values) = try JSONValue.parse(Data(try encoder(caller).encode(items))) else { return [] }
        return values.compactMap { value in
            if case .object(let fields) = value { fields } else { nil }
        }
    }

    /// Writes resources as `caller` may see them (provider and binding attributes for administrators only).
    static func encoder(_ caller: AuthContext) -> StreamingJSONEncoder {
        StreamingJSONEncoder(userInfo: [.neutronAdminView: Policy.isAdmin(caller)])
    }

    /// A list answer: the page the query asks for, with `<collection>_links` when paginated.
    func list(
        _ request: Request, _ key: String, _ items: [some Encodable], collection: String, caller: AuthContext,
        query given: NeutronQuery? = nil
    ) throws -> Response {
        let query = try given ?? NeutronQuery(request, maxLimit: network.configuration.maxLimit)
        if query.isWhole {
            // Everything, as it is or with `fields` picked: written straight through, never parsed back.
            var encoder = Self.encoder(caller)
            if !query.fields.isEmpty { encoder.fields = Set(query.fields) }
            var bytes = Array("{\"\(key)\":".utf8)
            try encoder.encode(items, appendingTo: &bytes)
            bytes.append(UInt8(ascii: "}"))
            return Self.responder.respond(encoded: bytes)
        }
        let (page, more) = try query.apply(try Self.objects(items, collection: collection, caller: caller))
        var body: [String: JSONValue] = [key: .array(page.map(JSONValue.object))]
        if query.limit != nil {
            var links: [JSONValue] = []
            let base = publicBase(request) + request.uri.path
            func link(_ rel: String, _ marker: JSONValue?, reverse: Bool) -> JSONValue? {
                guard case .string(let id)? = marker else { return nil }
                var items = ["limit=\(query.limit ?? 0)", "marker=\(id)"]
                if reverse { items.append("page_reverse=True") }
                return .object(["rel": .string(rel), "href": .string(base + "?" + items.joined(separator: "&"))])
            }
            if more || query.pageReverse,
                let next = link(query.pageReverse ? "previous" : "next", page.last?["id"], reverse: query.pageReverse)
            {
                links.append(next)
            }
            if query.marker != nil || (query.pageReverse && more),
                let previous = link(query.pageReverse ? "next" : "previous", page.first?["id"], reverse: !query.pageReverse)
            {
                links.append(previous)
            }
            body[key + "_links"] = .array(links)
        }
        return Self.responder.respond(JSONValue.object(body))
    }

    /// A one-resource answer `{"<key>": {...}}`, with `fields` honoured.
    func one(
        _ request: Request, _ key: String, _ item: some Encodable, collection: String, caller: AuthContext,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let query = try NeutronQuery(request, maxLimit: 1)
        let object = try Self.objects([item], collection: collection, caller: caller).first.map(query.project) ?? [:]
        return Self.responder.respond(JSONValue.object([key: .object(object)]), status: status)
    }

    /// The body's object under `key`; 400 otherwise.
    func body(_ request: Request, _ key: String) async throws -> JSONObject {
        let value = try await request.json(limit: bodyLimit)
        guard case .object(let root) = value, case .object(let fields)? = root[key] else {
            throw UpdraftError(.badRequest, "Resource body required", kind: "HTTPBadRequest")
        }
        return JSONObject(fields, path: key)
    }
}

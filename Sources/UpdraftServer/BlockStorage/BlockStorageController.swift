import Foundation
import HTTPTypes
import Hummingbird
import UpdraftBlockStorage
import UpdraftCore

/// The Cinder v3 API under `/volume/v3/{project_id}`: parses, authorises and maps; the logic
/// is in ``BlockStorageService``. Every answer carries the negotiated microversion.
struct BlockStorageController: Sendable {
    typealias Context = UpdraftRequestContext
    typealias Handler = @Sendable (Request, Context, Call) async throws -> Response

    let storage: BlockStorageService
    let publicBase: @Sendable (Request) -> String
    let bodyLimit: Int

    /// One request's caller, microversion and how its bodies are written.
    struct Call: Sendable {
        var version: Microversion
        var caller: AuthContext
        var view: VolumeView
        /// The project of the path.
        var project: String
        /// `http://host:port/volume/v3/<project>`.
        var base: String

        func atLeast(_ minor: Int) -> Bool { version.atLeast(minor) }

        /// A JSON answer `{"<key>": value}` written for this call's view; `extended: false`
        /// for a create's or an update's answer, which Cinder writes without its extensions' attributes.
        func respond(_ key: String, _ value: some Encodable, status: HTTPResponse.Status = .ok, extended: Bool? = nil)
            throws -> Response
        {
            var view = view
            if let extended { view.extended = extended }
            var bytes = Array("{\"\(key)\":".utf8)
            try StreamingJSONEncoder(userInfo: [.volumeView: view]).encode(value, appendingTo: &bytes)
            bytes.append(UInt8(ascii: "}"))
            return Responder(base: "", stamp: version.volumeHeaders).respond(encoded: bytes, status: status)
        }

        /// A body built as a ``JSONValue``.
        func respond(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
            Responder(base: "", stamp: version.volumeHeaders).respond(value, status: status)
        }

        /// An answer without a body.
        func empty(_ status: HTTPResponse.Status = .accepted) -> Response {
            Responder(base: "", stamp: version.volumeHeaders).empty(status)
        }

        /// Refuses a request for a feature newer than the negotiated version, as Cinder does (404).
        func require(_ minor: Int) throws(UpdraftError) {
            guard atLeast(minor) else {
                throw UpdraftError(.notFound, "The resource could not be found (it needs microversion 3.\(minor)).")
            }
        }
    }

    func register(on routes: Routes) {
        let root = routes.group("volume")
        root.add(.get, "", .anyone) { request, _ in self.versions(request) }
        root.add(.get, "v3", .anyone) { request, _ in
            Responder(base: "").respond(JSONValue.object(["versions": .array([self.versionBody(request)])]))
        }
        let v3 = routes.group("volume/v3/:project_id")
        registerVolumes(on: v3)
        registerVolumeActions(on: v3)
        registerSnapshots(on: v3)
        registerTypes(on: v3)
        registerAttachments(on: v3)
        registerQuotas(on: v3)
        registerAdmin(on: v3)
        registerTransfers(on: v3)
        registerBackups(on: v3)
    }

    /// Registers a handler, behind `access`, that runs with the caller and a negotiated
    /// microversion (406 for one out of range). The path's project must be the token's,
    /// unless the caller is an administrator.
    func route(_ group: RouteGroup, _ method: HTTPRequest.Method, _ path: String, _ access: Access, _ handler: @escaping Handler)
    {
        let base = publicBase
        group.add(method, path, access) { request, context in
            let version: Microversion
            switch Microversion.requested(by: request, Microversion.volume) {
            case .success(let v): version = v
            case .failure(let error):
                return FaultDialect.nova.response(status: 406, message: error.message, publicBase: base(request))
            }
            let caller = try context.caller()
            let project = try context.parameter("project_id")
            if project != caller.projectID && !Policy.isAdmin(caller) {
                throw UpdraftError.badRequest(
                    "Malformed request url: the URL's project_id '\(project)' does not match the token's project.")
            }
            let call = Call(
                version: version, caller: caller,
                view: VolumeView(minor: version.minor, admin: Policy.isAdmin(caller), base: base(request) + "/volume"),
                project: project, base: base(request) + "/volume/v3/" + project)
            return try await handler(request, context, call)
        }
    }

    /// The body's object under `key`; 400 otherwise.
    func body(_ request: Request, _ key: String) async throws -> JSONObject {
        try JSONObject.body(try await request.json(limit: bodyLimit), key: key)
    }

    /// The whole body as an object.
    func body(_ request: Request) async throws -> JSONObject {
        try JSONObject(try await request.json(limit: bodyLimit))
    }

    /// A metadata map from a body (`metadata`, `extra_specs`): string values only.
    static func strings(_ object: JSONObject?, field: String) throws(UpdraftError) -> [String: String] {
        guard let object else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in object.fields {
            guard case .string(let text) = value else {
                throw .badRequest("Invalid input received: \(field) value of '\(key)' must be a string.")
            }
            result[key] = text
        }
        return result
    }

    /// A rename in an update body: `name` and `description` (or their older `display_` forms);
    /// nil for a field the body leaves out, `.some(nil)` for one it clears.
    static func naming(_ body: JSONObject) throws(UpdraftError) -> (name: String??, description: String??) {
        func field(_ key: String, _ old: String) throws(UpdraftError) -> String?? {
            if body.has(key) { return .some(try body.string(key)) }
            if body.has(old) { return .some(try body.string(old)) }
            return nil
        }
        return (try field("name", "display_name"), try field("description", "display_description"))
    }

    /// A size as Cinder reads it: an integer, or a string holding one.
    static func integer(_ object: JSONObject, _ key: String) throws(UpdraftError) -> Int? {
        if case .string(let text)? = object.fields[key] {
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw .badRequest("Invalid input received: \(key) must be an integer, not '\(text)'.")
            }
            return number
        }
        return try object.integer(key, in: Int.min...Int.max)
    }

    /// Cinder's truth values in bodies: booleans, or strings such as "true" and "False".
    static func flag(_ object: JSONObject, _ key: String) throws(UpdraftError) -> Bool? {
        switch object.fields[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case .string(let text)?:
            switch text.lowercased() {
            case "true", "1", "yes", "on", "y", "t": return true
            case "false", "0", "no", "off", "n", "f": return false
            default: throw .badRequest("Invalid input received: \(key) must be a boolean, not '\(text)'.")
            }
        default: throw .badRequest("Invalid input received: \(key) must be a boolean.")
        }
    }

    /// A list answer with Cinder's `<key>_links` when a limited page is full.
    func list<T: Encodable>(
        _ request: Request, _ call: Call, _ key: String, _ items: [T], query: CinderQuery, id: (T) -> String,
        value: (T, String) -> String
    ) throws -> Response {
        let (page, more) = try query.page(items, id: id, value: value)
        return try respond(request, call, key, page: page, full: more, query: query, id: id)
    }

    /// A page answer, with Cinder's `<key>_links` to the next page when the page is full.
    func respond<T: Encodable>(
        _ request: Request, _ call: Call, _ key: String, page: [T], full: Bool, query: CinderQuery, id: (T) -> String
    ) throws -> Response {
        guard full, let last = page.last else { return try call.respond(key, page) }
        var parameters = (query.limit.map { ["limit=\($0)"] } ?? []) + ["marker=\(id(last))"]
        for (name, value) in query.filters.sorted(by: { $0.key < $1.key }) {
            parameters.append("\(name)=\(value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? value)")
        }
        let next = publicBase(request) + request.uri.path + "?" + parameters.joined(separator: "&")
        var bytes = Array("{\"\(key)\":".utf8)
        try StreamingJSONEncoder(userInfo: [.volumeView: call.view]).encode(page, appendingTo: &bytes)
        bytes += Array(",\"\(key)_links\":".utf8)
        bytes += JSONValue.array([.object(["rel": "next", "href": .string(next)])]).serialized()
        bytes.append(UInt8(ascii: "}"))
        return Responder(base: "", stamp: call.version.volumeHeaders).respond(encoded: bytes)
    }

    // MARK: Versions

    /// Serves `GET /volume`: Cinder's version list, v3 current.
    func versions(_ request: Request) -> Response {
        Responder(base: "").respond(
            JSONValue.object(["versions": .array([versionBody(request)])]), status: .multipleChoices)
    }

    func versionBody(_ request: Request) -> JSONValue {
        .object([
            "id": "v3.0", "status": "CURRENT", "version": .string(Microversion.volume.maximum.description),
            "min_version": .string(Microversion.volume.minimum.description), "updated": "2023-08-31T00:00:00Z",
            "links": .array([
                .object(["rel": "self", "href": .string(publicBase(request) + "/volume/v3/")]),
                .object(["rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"]),
            ]),
            "media-types": .array([
                .object(["base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"])
            ]),
        ])
    }
}

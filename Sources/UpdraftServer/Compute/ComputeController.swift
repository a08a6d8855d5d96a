import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCompute
import UpdraftCore

/// The Nova v2.1 API under `/compute`: parses, negotiates the microversion, authorises and
/// maps; the logic is in ``ComputeService``.
struct ComputeController: Sendable {
    typealias Context = UpdraftRequestContext

    /// What every compute handler gets: the negotiated version, the caller and where links point.
    struct Call: Sendable {
        let version: Microversion
        let caller: AuthContext
        /// `http://host:port/compute/v2.1`.
        let base: String
        let requestID: String
        /// `http://host:port/compute`, for Nova's version-less bookmark links.
        let bookmark: String
        /// Answers stamped with the negotiated microversion.
        let responder: Responder
        let hostIDs: HostIDs

        init(version: Microversion, caller: AuthContext, base: String, requestID: String, hostIDs: HostIDs) {
            self.version = version
            self.hostIDs = hostIDs
            self.caller = caller
            self.base = base
            self.requestID = requestID
            self.bookmark = base.hasSuffix("/v2.1") ? String(base.dropLast("/v2.1".count)) : base
            var stamp = version.headers
            stamp[.computeRequestID] = requestID
            self.responder = Responder(base: base, stamp: stamp)
        }

        var isAdmin: Bool { Policy.isAdmin(caller) }

        func authorize(_ rule: Policy.Rule) throws {
            try Policy.authorize(caller, rule)
        }

        /// A JSON answer stamped with the negotiated microversion.
        func respond(_ body: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
            responder.respond(body, status: status, headers: headers)
        }

        func empty(_ status: HTTPResponse.Status = .accepted, headers: HTTPFields = [:]) -> Response {
            responder.empty(status, headers: headers)
        }
    }

    typealias Handler = @Sendable (Request, Context, Call) async throws -> Response

    let compute: ComputeService
    let publicBase: @Sendable (Request) -> String
    let bodyLimit: Int
    let hostIDs = HostIDs()

    func register(on routes: Routes) {
        let root = routes.group("compute")
        root.add(.get, "", .anyone) { request, _ in self.versions(request) }
        root.add(.get, "v2.1", .anyone) { request, _ in self.version(request, self.versionBody(request)) }
        // The v2.0 entry's own link, which tempest follows: its version document, as Nova serves it.
        root.add(.get, "v2", .anyone) { request, _ in self.version(request, self.legacyVersionBody(request)) }
        let v21 = routes.group("compute/v2.1")
        registerServers(on: v21)
        registerServerActions(on: v21)
        registerFlavors(on: v21)
        registerKeypairs(on: v21)
        registerQuotas(on: v21)
        registerHypervisors(on: v21)
        registerServices(on: v21)
        registerAvailabilityZones(on: v21)
        registerAggregates(on: v21)
        registerUsage(on: v21)
        registerImages(on: v21)
        registerVolumeAttachments(on: v21)
    }

    /// Registers a handler, behind `access`, that runs with the caller and a negotiated
    /// microversion (406 for one out of range).
    func route(_ group: RouteGroup, _ method: HTTPRequest.Method, _ path: String, _ access: Access, _ handler: @escaping Handler)
    {
        let base = publicBase
        let hostIDs = hostIDs
        group.add(method, path, access) { request, context in
            let version: Microversion
            switch Microversion.requested(by: request) {
            case .success(let v): version = v
            case .failure(let error):
                return FaultDialect.nova.response(status: 406, message: error.message, publicBase: base(request))
            }
            let call = Call(
                version: version, caller: try context.caller(), base: base(request) + "/compute/v2.1",
                requestID: context.requestID, hostIDs: hostIDs)
            return try await handler(request, context, call)
        }
    }

    /// Server `id` for a call that changes it: the caller must be a member of its project
    /// (or an admin); a reader gets 403, as under Nova's default policies.
    func serverToChange(_ id: String, _ call: Call) async throws -> Instance {
        let server = try await compute.server(id, caller: call.caller)
        try call.authorize(.projectMember(server.projectID))
        return server
    }

    /// `?limit=`: Nova's non-negative integer, capped at `max_limit`; a 400 for anything else.
    func limit(_ request: Request) throws(UpdraftError) -> Int? {
        guard let text = request.query["limit"] else { return nil }
        guard let n = Int(text), n >= 0 else {
            throw .badRequest("Invalid input for query parameters limit. Value: \(text). It must be a non-negative integer.")
        }
        return min(n, compute.configuration.maxLimit)
    }

    /// The body's object under `key` (`{"server": {...}}`); 400 otherwise.
    func body(_ request: Request, _ key: String) async throws -> JSONObject {
        try JSONObject.body(try await request.json(limit: bodyLimit), key: key)
    }

    private func versionBody(_ request: Request) -> JSONValue {
        .object([
            "id": "v2.1", "status": "CURRENT", "version": .string(Microversion.maximum.description),
            "min_version": .string(Microversion.minimum.description), "updated": "2013-07-23T11:33:21Z",
            "links": .array([
                .object(["rel": "self", "href": .string(publicBase(request) + "/compute/v2.1/")]),
                .object([
                    "rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/",
                ]),
            ]),
            "media-types": .array([
                .object(["base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"])
            ]),
        ])
    }

    /// The legacy v2.0 API as Nova lists it (SUPPORTED, no microversions). Updraft serves
    /// only v2.1, but clients and tempest expect v2.0 listed first, as every Nova does.
    private func legacyVersionBody(_ request: Request) -> JSONValue {
        .object([
            "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
            "links": .array([
                .object(["rel": "self", "href": .string(publicBase(request) + "/compute/v2/")]),
                .object(["rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"]),
            ]),
            "media-types": .array([
                .object(["base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"])
            ]),
        ])
    }

    /// Serves `GET /compute/`: the version list, v2.0 then v2.1 as Nova orders them.
    func versions(_ request: Request) -> Response {
        Responder(base: publicBase(request)).respond(
            JSONValue.object(["versions": .array([legacyVersionBody(request), versionBody(request)])]))
    }

    /// Serves `GET /compute/v2.1/` and `GET /compute/v2/`: one version's document.
    func version(_ request: Request, _ body: JSONValue) -> Response {
        Responder(base: publicBase(request)).respond(JSONValue.object(["version": body]))
    }
}

extension JSONObject {
    /// Nova's database integer range, which its schemas also enforce on counts and sizes.
    static let novaIntegers = Int(Int32.min)...Int(Int32.max)

    /// An integer sent as a number or a numeric string (Nova accepts both for counts and
    /// sizes), within `range`; anything else is Nova's 400 naming the field. The core's
    /// ``JSONObject/integer(_:in:)`` takes numbers only.
    func novaInteger(_ key: String, in range: ClosedRange<Int> = novaIntegers) throws(UpdraftError) -> Int? {
        let number: Int?
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: number = Int(s.trimmingCharacters(in: .whitespaces))
        case let value?: number = value.exactInteger
        }
        guard let number, range.contains(number) else {
            throw .badRequest(
                "Invalid input for field/attribute \(key). Value: \(fields[key]?.jsonText ?? ""). "
                    + "It must be an integer from \(range.lowerBound) to \(range.upperBound).")
        }
        return number
    }

    /// A reference Nova takes as a string or an integer (`flavorRef`); a 400 otherwise.
    func reference(_ key: String) throws(UpdraftError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let value?:
            guard let number = value.exactInteger else {
                throw .badRequest("Invalid input for field/attribute \(key). Value: \(value.jsonText).")
            }
            return String(number)
        }
    }

    /// A boolean sent as `true`, `"true"`, `"True"`, `1` ...
    func looseBool(_ key: String) throws(UpdraftError) -> Bool? {
        switch fields[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case .integer(let n)?: return n != 0
        case .number(let n)?: return n != 0
        case .string(let s)?:
            switch s.lowercased() {
            case "true", "1", "yes", "on", "y", "t": return true
            case "false", "0", "no", "off", "n", "f", "": return false
            default: break
            }
        default: break
        }
        throw .badRequest("Invalid input for field/attribute \(key). Value: \(fields[key]?.jsonText ?? "").")
    }

    /// A flat string map (`metadata`); non-string values are a 400 as in Nova.
    func stringMap(_ key: String) throws(UpdraftError) -> [String: String]? {
        guard let object = try object(key) else { return nil }
        var result: [String: String] = [:]
        for (k, v) in object.fields {
            guard case .string(let s) = v else {
                throw .badRequest("Invalid input for field/attribute \(key). Value: \(k) must be a string.")
            }
            guard !k.isEmpty, k.count <= 255, s.count <= 255 else {
                throw .badRequest("Invalid input for field/attribute \(key): keys and values must be 1 to 255 characters.")
            }
            result[k] = s
        }
        return result
    }
}

extension Date {
    /// Nova's `2026-11-24T21:00:00Z`.
    var nova: JSONValue { .string(Timestamp.iso8601(self)) }
    /// Nova's `OS-SRV-USG` form: `2026-11-24T21:00:00.000000`.
    var novaUsage: JSONValue { .string(String(Timestamp.microseconds(self).dropLast())) }
}

extension ComputeController {
    /// A valid address in its canonical text (RFC 5952 for IPv6), as Nova stores
    /// `accessIPv4`/`accessIPv6`; a 400 for anything else.
    static func canonicalAddress(_ text: String?, v6: Bool, field: String) throws(UpdraftError) -> String? {
        guard let text else { return nil }
        if text.isEmpty { return "" }
        let family = v6 ? AF_INET6 : AF_INET
        var storage = [UInt8](repeating: 0, count: 16)
        guard inet_pton(family, text, &storage) == 1 else {
            throw .badRequest("Invalid input for field/attribute \(field). Value: \(text). '\(text)' is not a valid IP address.")
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, storage, &buffer, socklen_t(buffer.count)) != nil else { return text }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension JSONValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

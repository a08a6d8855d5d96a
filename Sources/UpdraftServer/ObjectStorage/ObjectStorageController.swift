import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftObjectStorage

/// Swift's API: one route per method under `/object-store/v1/**`, since object names hold
/// slashes; the path is read here, percent-decoded, as account, container and object.
/// No route needs a token up front: public containers and TempURLs serve callers without
/// one, and ``ObjectStorageService`` decides who may do what.
struct ObjectStorageController: Sendable {
    typealias Context = UpdraftRequestContext

    let storage: ObjectStorageService

    static let copy = HTTPRequest.Method("COPY").unsafelyUnwrapped

    func register(on routes: Routes) {
        let v1 = routes.group("object-store/v1")
        for method in [HTTPRequest.Method.get, .head, .put, .post, .delete, Self.copy] {
            v1.add(method, "**", .anyone) { request, context in try await self.dispatch(request, context) }
        }
        // swiftclient asks next to the version (`/object-store/info`), tempest at the root (`/info`).
        routes.group("object-store/info").add(.get, "", .anyone) { request, _ in self.info(request) }
        routes.group("info").add(.get, "", .anyone) { request, _ in self.info(request) }
        // Swift's healthcheck middleware: load balancers ask it whether the proxy is up.
        routes.group("object-store/healthcheck").add(.get, "", .anyone) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "OK")))
        }
    }

    /// Where a request points: the account always, then a container and an object.
    struct Target {
        var project: String
        var container: String?
        var object: String?
        /// The decoded path as Swift itself would see it (`/v1/AUTH_.../c/o`), for TempURL signatures.
        var swiftPath: String

        /// The paths a TempURL or FormPOST signature may cover: Swift's own, and the request's.
        var signedPaths: [String] { [swiftPath, "/object-store" + swiftPath] }
    }

    static let root = "/object-store/v1/"

    /// Reads the account, container and object from the raw path: 404 for a path that names
    /// no `AUTH_` account, 412 for bytes that are not UTF-8 or hold a NUL, as Swift answers.
    static func target(_ path: String) throws(UpdraftError) -> Target {
        guard path.hasPrefix(root) else { throw .notFound("The resource could not be found.") }
        let parts = path.dropFirst(root.count).split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        func decode(_ raw: Substring) throws(UpdraftError) -> String {
            guard let text = String(raw).removingPercentEncoding, !text.contains("\0") else {
                throw .preconditionFailed("Invalid UTF8 or contains NULL")
            }
            return text
        }
        let account = try decode(parts[0])
        guard account.hasPrefix("AUTH_"), account.count > 5 else { throw .notFound("The resource could not be found.") }
        var target = Target(project: String(account.dropFirst(5)), swiftPath: "/v1/" + account)
        if parts.count > 1, !parts[1].isEmpty {
            let container = try decode(parts[1])
            target.container = container
            target.swiftPath += "/" + container
            if parts.count > 2, !parts[2].isEmpty {
                let object = try decode(parts[2])
                target.object = object
                target.swiftPath += "/" + object
            }
        }
        return target
    }

    func dispatch(_ request: Request, _ context: Context) async throws -> Response {
        let target = try Self.target(request.uri.path)
        // FormPOST decides alone, token or not, as Swift's formpost middleware runs before auth.
        if request.method == .post, let container = target.container, let boundary = Self.formBoundary(request) {
            return try await formPost(request, target, container, boundary: boundary)
        }
        let caller = try await caller(request, context, target)
        if let page = try await staticWeb(request, target, caller: caller) { return page }
        switch (target.container, target.object) {
        case (nil, _):
            return try await account(request, target.project, caller: caller)
        case (let containerName?, nil):
            return try await container(request, target.project, containerName, caller: caller)
        case (let containerName?, let objectName?):
            return try await object(request, target, containerName, objectName, caller: caller)
        }
    }

    /// Who the request acts as: the token's caller, a TempURL's holder, or nobody.
    func caller(_ request: Request, _ context: Context, _ target: Target) async throws(UpdraftError)
        -> ObjectStorageService.Caller
    {
        // A TempURL decides alone, token or not, as Swift's tempurl middleware runs before auth.
        let query = request.query
        guard let signature = query["temp_url_sig"], let expires = query["temp_url_expires"],
            let container = target.container, let object = target.object
        else {
            switch context.authentication {
            case .authenticated(let caller): return .user(caller)
            case .rejected: throw .unauthorized()
            case .none: return .anonymous
            }
        }
        let url = ObjectStorageService.TempURL(signature: signature, expires: expires, prefix: query["temp_url_prefix"])
        guard
            await storage.verify(
                url, method: request.method.rawValue, paths: target.signedPaths, project: target.project, container: container,
                object: object)
        else {
            throw .unauthorized("Temp URL invalid")
        }
        return .signed
    }

    /// The boundary of a `multipart/form-data` body, which makes a POST a FormPOST.
    static func formBoundary(_ request: Request) -> String? {
        guard let type = request.headers[.contentType],
            type.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "multipart/form-data"
        else { return nil }
        return FormData.parameters(type)["boundary"]
    }

    /// Serves a FormPOST: each file of the form stored under the path's prefix. Swift's
    /// answers: the status line as text, or a 303 to the form's `redirect` with
    /// `status` and `message` in its query.
    func formPost(_ request: Request, _ target: Target, _ container: String, boundary: String) async throws -> Response {
        let result = try await storage.formPost(
            target.project, container, prefix: target.object ?? "", paths: target.signedPaths,
            form: FormDataStream(request.body, boundary: boundary))
        let statusLine = ObjectStorageService.statusLine(code: result.status)
        guard let redirect = result.redirect else {
            var text = statusLine
            if !result.message.isEmpty { text += "\r\nFormPost: " + Self.titleCased(result.message, separator: " ") }
            return Response(
                status: .init(code: result.status), headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let query = "status=\(result.status)&message=\(Self.queryEscaped(result.message))"
        let location = redirect + (redirect.contains("?") ? "&" : "?") + query
        return Response(
            status: .seeOther, headers: [.location: location, .contentType: "text/html; charset=UTF-8"],
            body: .init(
                byteBuffer: ByteBuffer(
                    string: "<html><body><p><a href=\"\(Markup.escape(location))\">Click to continue...</a></p></body></html>")))
    }

    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Swift's `config_true_value`: whether a header, query or metadata value means yes.
    static func isTrue(_ value: String?) -> Bool {
        ["true", "1", "yes", "on", "t", "y"].contains(value?.lowercased() ?? "")
    }

    /// The request's headers as lower-cased names and values, for metadata.
    static func headerList(_ request: Request) -> [(name: String, value: String)] {
        request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
    }

    /// Swift's `X-Timestamp`: seconds with five decimals, zero-padded to 16 characters.
    static func timestamp(_ seconds: Double) -> String {
        String(format: "%016.5f", seconds)
    }

    /// Adds `X-<kind>-Meta-<name>` for each item.
    static func addMetadata(_ metadata: Metadata, kind: String, to headers: inout HTTPFields, hiding: Set<String> = []) {
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !hiding.contains(key) {
            if let name = HTTPField.Name("X-\(kind)-Meta-\(titleCased(key))") {
                headers.append(HTTPField(name: name, value: value))
            }
        }
    }

    /// `big-size` as Swift writes stored header names: `Big-Size` (and, split at spaces,
    /// a FormPOST message as Python's `str.title()` writes it).
    static func titleCased(_ name: String, separator: Character = "-") -> String {
        name.split(separator: separator, omittingEmptySubsequences: false)
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: String(separator))
    }

    /// An answer with no body: `Content-Length: 0` (or the size a HEAD describes) and a type,
    /// which tempest expects on every Swift answer.
    static func empty(_ status: HTTPResponse.Status, _ headers: HTTPFields = [:], length: Int64 = 0) -> Response {
        var headers = headers
        if headers[.contentType] == nil { headers[.contentType] = "text/plain; charset=utf-8" }
        if status != .noContent, status != .notModified { headers[.contentLength] = String(length) }
        return Response(status: status, headers: headers, body: .init())
    }

    /// Serves `GET /info` and `GET /object-store/info`: what this cluster supports and its limits.
    func info(_ request: Request) -> Response {
        let limits = storage.limits
        let swift: JSONValue = .object([
            "version": "2.34.0", "max_file_size": .integer(Int(limits.maxFileSize)),
            "max_object_name_length": .integer(limits.maxObjectNameLength),
            "max_container_name_length": .integer(limits.maxContainerNameLength),
            "max_account_name_length": .integer(limits.maxAccountNameLength),
            "max_meta_name_length": .integer(limits.maxMetaNameLength),
            "max_meta_value_length": .integer(limits.maxMetaValueLength),
            "max_meta_count": .integer(limits.maxMetaCount),
            "max_meta_overall_size": .integer(limits.maxMetaOverallSize),
            "max_header_size": .integer(limits.maxHeaderSize),
            "container_listing_limit": .integer(limits.containerListingLimit),
            "account_listing_limit": .integer(limits.accountListingLimit), "extra_header_count": 0,
            "strict_cors_mode": true, "allow_account_management": false, "account_autocreate": true,
            "valid_api_versions": .array(["v1", "v1.0"]),
            "policies": .array([.object(["name": "Policy-0", "aliases": "Policy-0", "default": true])]),
        ])
        let capabilities: JSONValue = .object([
            "swift": swift,
            "slo": .object([
                "max_manifest_segments": .integer(limits.maxManifestSegments),
                "max_manifest_size": .integer(limits.maxManifestSize),
                "min_segment_size": .integer(limits.minSegmentSize), "yield_frequency": 10,
                "allow_async_delete": false,
            ]),
            "dlo": .object(["max_get_time": 86400]),
            "tempurl": .object([
                "methods": .array(["GET", "HEAD", "PUT", "POST", "DELETE"]),
                "incoming_remove_headers": .array(["x-timestamp"]), "incoming_allow_headers": .array([]),
                "outgoing_remove_headers": .array(["x-object-meta-*"]),
                "outgoing_allow_headers": .array(["x-object-meta-public-*"]),
                "allowed_digests": .array(["sha1", "sha256", "sha512"]),
            ]),
            "account_quotas": .object([:]), "container_quotas": .object([:]),
            "bulk_delete": .object([
                "max_deletes_per_request": .integer(limits.maxDeletesPerRequest), "max_failed_deletes": 1000,
            ]),
            "bulk_upload": .object(["max_containers_per_extraction": 10000, "max_failed_extractions": 1000]),
            "formpost": .object(["allowed_digests": .array(["sha1", "sha256", "sha512"])]), "staticweb": .object([:]),
        ])
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: capabilities.serialized())))
    }
}

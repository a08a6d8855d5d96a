import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftObjectStorage

/// Accounts and containers.
extension ObjectStorageController {
    /// Serves `HEAD`, `GET` (the container listing) and `POST` (metadata) on `/v1/AUTH_{project}`.
    func account(_ request: Request, _ project: String, caller: ObjectStorageService.Caller) async throws -> Response {
        if let bulk = try await bulk(request, project, container: nil, caller: caller) { return bulk }
        switch request.method {
        case .head, .get:
            let (account, entries): (Account, [ListingEntry])
            if request.method == .get {
                (account, entries) = try await storage.listContainers(project, try SwiftListing.query(request), caller: caller)
            } else {
                (account, entries) = (try await storage.account(project, caller: caller), [])
            }
            var headers: HTTPFields = [
                .known("X-Account-Container-Count"): String(account.containerCount),
                .known("X-Account-Object-Count"): String(account.objectCount),
                .known("X-Account-Bytes-Used"): String(account.bytesUsed),
                .xTimestamp: Self.timestamp(account.createdAt),
                .known("X-Account-Storage-Policy-Policy-0-Container-Count"): String(account.containerCount),
                .known("X-Account-Storage-Policy-Policy-0-Object-Count"): String(account.objectCount),
                .known("X-Account-Storage-Policy-Policy-0-Bytes-Used"): String(account.bytesUsed),
                .acceptRanges: "bytes",
            ]
            Self.addMetadata(
                account.metadata, kind: "Account", to: &headers, hiding: Self.owner(caller, project) ? [] : Self.secretKeys)
            return SwiftListing.response(
                entries, format: SwiftListing.format(request), root: ("account", "AUTH_" + project), headers: headers,
                isHead: request.method == .head)
        case .post:
            var change = MetadataChange.parse(Self.headerList(request), kind: "account")
            // Swift 2.34's quota headers, besides the older X-Account-Meta-Quota-Bytes.
            for (header, key) in [("x-account-quota-bytes", "quota-bytes"), ("x-account-quota-count", "quota-count")] {
                guard let name = HTTPField.Name(header), let value = request.headers[name] else { continue }
                if value.isEmpty { change.removed.insert(key) } else { change.assigned[key] = value }
            }
            try await storage.updateAccount(project, change, caller: caller)
            return Self.empty(.noContent)
        default:
            throw HTTPError(.methodNotAllowed)
        }
    }

    /// Keys shown only to the project's own members and administrators.
    static let secretKeys: Set<String> = ["temp-url-key", "temp-url-key-2"]

    static func owner(_ caller: ObjectStorageService.Caller, _ project: String) -> Bool {
        guard case .user(let context) = caller else { return false }
        return Policy.allows(context, .projectMember(project))
    }

    /// Serves `HEAD`, `GET` (the object listing), `PUT`, `POST` and `DELETE` on a container.
    func container(_ request: Request, _ project: String, _ name: String, caller: ObjectStorageService.Caller)
        async throws -> Response
    {
        if let bulk = try await bulk(request, project, container: name, caller: caller) { return bulk }
        switch request.method {
        case .head, .get:
            let (container, entries): (Container, [ListingEntry])
            if request.method == .get {
                (container, entries) = try await storage.listObjects(
                    project, name, try SwiftListing.query(request), caller: caller)
            } else {
                (container, entries) = (try await storage.container(project, name, caller: caller), [])
            }
            var headers: HTTPFields = [
                .known("X-Container-Object-Count"): String(container.objectCount),
                .known("X-Container-Bytes-Used"): String(container.bytesUsed),
                .xTimestamp: Self.timestamp(container.createdAt), .storagePolicy: "Policy-0",
                .lastModified: Timestamp.httpDate(container.modifiedAt.rounded(.up)), .acceptRanges: "bytes",
            ]
            let owner = Self.owner(caller, project)
            Self.addMetadata(container.metadata, kind: "Container", to: &headers, hiding: owner ? [] : Self.secretKeys)
            if owner {
                if let read = container.readACL { headers[.containerRead] = read }
                if let write = container.writeACL { headers[.containerWrite] = write }
            }
            if let versioning = container.versioning {
                headers[versioning.mode == .stack ? .versionsLocation : .historyLocation] = versioning.location
            }
            return SwiftListing.response(
                entries, format: SwiftListing.format(request), root: ("container", name), headers: headers,
                isHead: request.method == .head)
        case .put:
            let created = try await storage.putContainer(project, name, try Self.containerChange(request), caller: caller)
            return Self.empty(created ? .created : .accepted, [.contentType: "text/html; charset=UTF-8"])
        case .post:
            try await storage.updateContainer(project, name, try Self.containerChange(request), caller: caller)
            return Self.empty(.noContent)
        case .delete:
            try await storage.deleteContainer(project, name, caller: caller)
            return Self.empty(.noContent)
        default:
            throw HTTPError(.methodNotAllowed)
        }
    }

    /// What a container PUT or POST changes, read from its headers.
    static func containerChange(_ request: Request) throws(UpdraftError) -> ObjectStorageService.ContainerChange {
        var change = ObjectStorageService.ContainerChange()
        change.metadata = MetadataChange.parse(headerList(request), kind: "container")
        let headers = request.headers
        change.readACL = headers[.containerRead]
        change.writeACL = headers[.containerWrite]
        if headers[.removeContainerRead] != nil { change.readACL = "" }
        if headers[.removeContainerWrite] != nil { change.writeACL = "" }
        if let location = headers[.versionsLocation] {
            change.versioning = .some(location.isEmpty ? nil : .init(mode: .stack, location: location))
        }
        if let location = headers[.historyLocation] {
            if headers[.versionsLocation].map({ !$0.isEmpty }) == true, !location.isEmpty {
                throw .badRequest("Only one of X-Versions-Location or X-History-Location may be specified")
            }
            change.versioning = .some(location.isEmpty ? nil : .init(mode: .history, location: location))
        }
        if headers[.removeVersionsLocation] != nil || headers[.removeHistoryLocation] != nil { change.versioning = .some(nil) }
        return change
    }

    /// Swift's bulk operations, when the query asks for one: `?bulk-delete` (POST or DELETE
    /// on the account, paths one a line) and `?extract-archive=tar` (PUT on the account or a
    /// container). Nil for any other request.
    func bulk(_ request: Request, _ project: String, container: String?, caller: ObjectStorageService.Caller)
        async throws -> Response?
    {
        let query = request.query
        if query["bulk-delete"] != nil, container == nil, request.method == .post || request.method == .delete {
            let text = String(buffer: try await request.body.collect(upTo: 16 << 20))
            let paths = text.split(whereSeparator: \.isNewline).map { String($0).removingPercentEncoding ?? String($0) }
            let result = try await storage.bulkDelete(project, paths: paths, caller: caller)
            return Self.bulkDeleteResponse(result, request: request)
        }
        guard let format = query["extract-archive"], request.method == .put else { return nil }
        guard format == "tar" else {
            throw UpdraftError.badRequest("Unsupported archive format \(format): only tar is accepted.")
        }
        let result = try await storage.extractArchive(
            project, into: container, archive: TarStream(request.body), caller: caller)
        return Self.bulkResponse(
            counts: [("Number Files Created", result.created)],
            status: result.errors.isEmpty ? "201 Created" : "400 Bad Request", errors: result.errors, request: request)
    }
}

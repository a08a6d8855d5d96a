import NIOCore
import UpdraftCore

/// Swift's bulk middleware: many deletes in one request, and a tar archive unpacked into
/// containers and objects as it streams.
extension ObjectStorageService {
    /// What unpacking an archive made.
    public struct ExtractResult: Sendable {
        public var created = 0
        /// Each failure: the path and the status it met.
        public var errors: [(path: String, status: String)] = []
    }

    /// Deletes each `/container/object` or `/container` in order, as `caller` may; a missing
    /// one is counted, not an error. Serves `POST` or `DELETE /v1/AUTH_{project}?bulk-delete`.
    public func bulkDelete(_ project: String, paths: [String], caller: Caller) async throws(UpdraftError)
        -> BulkDeleteResult
    {
        guard paths.count <= limits.maxDeletesPerRequest else {
            throw .overLimit("Max delete failures exceeded: at most \(limits.maxDeletesPerRequest) paths a request.")
        }
        var result = BulkDeleteResult()
        for path in paths {
            let trimmed = path.drop { $0 == "/" }
            let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let container = parts.first.map(String.init), !container.isEmpty else { continue }
            do {
                if parts.count > 1, !parts[1].isEmpty {
                    try await deleteObject(project, container, String(parts[1]), caller: caller)
                } else {
                    try await deleteContainer(project, container, caller: caller)
                }
                result.deleted += 1
            } catch {
                if error.code == .notFound {
                    result.notFound += 1
                } else {
                    result.errors.append(("/" + trimmed, Self.statusLine(error)))
                }
            }
        }
        return result
    }

    /// Unpacks a tar archive: each file becomes an object, under `container` when the
    /// request names one, else in the container its first path component names (made when
    /// missing). Serves `PUT /v1/AUTH_{project}[/{container}]?extract-archive=tar`.
    public func extractArchive<Bytes: AsyncSequence>(
        _ project: String, into container: String?, archive: TarStream<Bytes>, caller: Caller
    ) async throws(UpdraftError) -> ExtractResult where Bytes.Element == ByteBuffer {
        var result = ExtractResult()
        var made: Set<String> = []
        while true {
            let next: (name: String, size: Int64)?
            do {
                next = try await archive.next()
            } catch {
                throw error as? UpdraftError ?? .badRequest("Invalid Tar File: \(error)")
            }
            guard let (name, _) = next else { break }
            var path = Substring(name)
            while path.hasPrefix("./") || path.hasPrefix("/") { path = path.drop { $0 == "." || $0 == "/" } }
            let (target, object): (String, String)
            if let container {
                (target, object) = (container, String(path))
            } else {
                let parts = path.split(separator: "/", maxSplits: 1)
                guard parts.count == 2 else { continue }
                (target, object) = (String(parts[0]), String(parts[1]))
            }
            guard !object.isEmpty else { continue }
            do {
                if !made.contains(target) {
                    try await putContainer(project, target, ContainerChange(), caller: caller)
                    made.insert(target)
                }
                _ = try await putObject(project, target, object, ObjectWrite(), bytes: archive.entry, caller: caller)
                result.created += 1
            } catch {
                result.errors.append(("/\(target)/\(object)", Self.statusLine(error)))
            }
        }
        return result
    }

    /// `404 Not Found`, as the bulk answers name a failure.
    static func statusLine(_ error: UpdraftError) -> String {
        statusLine(code: error.code.httpStatus)
    }

    /// `201 Created`: a status code with its reason phrase.
    public static func statusLine(code: Int) -> String {
        let titles = [
            201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 411: "Length Required", 412: "Precondition Failed", 413: "Request Entity Too Large",
            422: "Unprocessable Entity", 500: "Internal Server Error",
        ]
        return "\(code) \(titles[code] ?? "Error")"
    }
}

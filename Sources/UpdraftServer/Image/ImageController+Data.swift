import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftImage

/// Image bytes: streamed in and out, never held in memory.
extension ImageController {
    func registerData(on v2: RouteGroup) {
        v2.add(.put, "images/:id/file", .member) { request, context in try await self.upload(request, context) }
        v2.add(.get, "images/:id/file", .authenticated) { request, context in try await self.download(request, context) }
    }

    /// Serves `PUT /v2/images/{id}/file`: 204 once the bytes are durable and the image active.
    func upload(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller()
        let type = request.headers[.contentType]?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        if let type, type != "application/octet-stream" {
            throw HTTPError(.unsupportedMediaType, message: "Image data must be sent as application/octet-stream.")
        }
        _ = try await images.upload(try context.parameter("id"), data: request.body, caller: caller)
        return Response(status: .noContent)
    }

    /// Serves `GET /v2/images/{id}/file`: the bytes with `Content-MD5`, a single `Range`
    /// when asked, or 204 for an image without data.
    func download(_ request: Request, _ context: Context) async throws -> Response {
        let caller = try context.caller()
        guard let download = try await images.download(try context.parameter("id"), caller: caller) else {
            return Response(status: .noContent)
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        if let checksum = download.checksum { headers[.contentMD5] = checksum }
        let files = FileIO()
        if let header = request.headers[.range], let range = Self.byteRange(header, size: download.size) {
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(download.size)"
            let body = try await files.loadFile(path: download.path, range: range, context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        }
        guard download.size > 0 else { return Response(status: .ok, headers: headers, body: .init()) }
        let body = try await files.loadFile(path: download.path, context: context)
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `bytes=a-b`, `bytes=a-` or `bytes=-n` within `size`; nil for anything else (served whole).
    static func byteRange(_ header: String, size: Int64) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), size > 0, !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count).split(separator: "-", omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        let last = Int(size) - 1
        if spec[0].isEmpty {
            guard let count = Int(spec[1]), count > 0 else { return nil }
            return max(0, last - count + 1)...last
        }
        guard let start = Int(spec[0]), start <= last else { return nil }
        let end = spec[1].isEmpty ? last : min(Int(spec[1]) ?? last, last)
        return start <= end ? start...end : nil
    }
}

import Foundation
import Hummingbird
import NIOCore
import UpdraftCore
import UpdraftObjectStorage

/// S3's XML documents: written as text, and the two request bodies S3 clients send
/// (`CompleteMultipartUpload`, `Delete`) read by their elements.
enum S3XML {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    /// `2026-11-29T17:23:35.000Z`.
    static func date(_ seconds: Double) -> String {
        let text = Timestamp.microseconds(Date(timeIntervalSince1970: seconds))
        return String(text.prefix(23)) + "Z"
    }

    static func element(_ name: String, _ value: String) -> String {
        "<\(name)>\(Markup.escape(value))</\(name)>"
    }

    static func response(_ body: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/xml"
        return Response(
            status: status, headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + body)))
    }

    /// Every text of elements named `name`, in order, entities decoded.
    static func values(_ name: String, in text: String) -> [String] {
        var result: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "<\(name)>") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "</\(name)>") else { break }
            result.append(unescape(String(rest[..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return result
    }

    /// The blocks of elements named `name` (`<Part>...</Part>`), as their inner text.
    static func blocks(_ name: String, in text: String) -> [String] {
        var result: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "<\(name)>") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "</\(name)>") else { break }
            result.append(String(rest[..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return result
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#13;", with: "\r").replacingOccurrences(of: "&#10;", with: "\n")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

import Foundation
import NIOCore
import UpdraftCore

/// FormPOST: an HTML form, signed with a TempURL key, that lets a browser upload files into a
/// container without a token. The form's fields (`redirect`, `max_file_size`,
/// `max_file_count`, `expires`, `signature`) come before its files, and each file becomes the
/// object `<prefix><filename>`.
extension ObjectStorageService {
    /// How a form upload ended: Swift's status and message, and the files stored.
    public struct FormPostResult: Sendable {
        public var status: Int
        public var message: String
        /// The `redirect` field, when the form has one: the answer is a 303 there.
        public var redirect: String?
        public var created: [StoredObject] = []
    }

    /// A field's value is kept up to this many bytes, as Swift's `MAX_VALUE_LENGTH`.
    static let formValueLimit = 4096

    /// Stores each file of `form` as `prefix + filename` in `container` once the fields before
    /// it sign `paths` (the request path as the client and as Swift see it) with a TempURL key
    /// of the account or container and have not expired. 401 for a bad signature or an expired
    /// form, 400 for a malformed one or a file past `max_file_size`; a failed store ends the
    /// form with that failure's status, as in Swift.
    /// Serves `POST /v1/AUTH_{project}/{container}[/{prefix}]` with `multipart/form-data`.
    public func formPost<Bytes: AsyncSequence>(
        _ project: String, _ container: String, prefix: String, paths: [String], form: FormDataStream<Bytes>
    ) async throws(UpdraftError) -> FormPostResult where Bytes.Element == ByteBuffer {
        var fields: [String: String] = [:]
        var result = FormPostResult(status: 400, message: "no files to process")
        var files = 0
        // The TempURL keys, read once the first file needs them.
        var keys: [String]?
        do {
            while let part = try await form.next() {
                guard let filename = part.filename else {
                    let value = try await form.text(limit: Self.formValueLimit)
                    fields[part.name] = String(value.reversed().drop { "\r\n-".contains($0) }.reversed())
                    continue
                }
                guard let maxFiles = Int(fields["max_file_count"] ?? "0") else {
                    throw UpdraftError.badRequest("FormPost: max_file_count not an integer")
                }
                files += 1
                guard files <= maxFiles else {
                    (result.status, result.message) = (400, "max file count exceeded")
                    break
                }
                if keys == nil { keys = await signingKeys(project, container) }
                let (write, maxSize) = try formWrite(fields, part, paths: paths, keys: keys ?? [])
                let name = prefix + (filename.isEmpty ? "filename" : filename)
                do {
                    let bytes = form.body(limit: maxSize)
                    result.created.append(try await putObject(project, container, name, write, bytes: bytes, caller: .signed))
                    (result.status, result.message) = (201, "")
                } catch {
                    if error.message.hasPrefix("FormPost:") { throw error }
                    (result.status, result.message) = (error.code.httpStatus, error.message)
                    break
                }
            }
        } catch {
            throw error as? UpdraftError ?? .badRequest("FormPost: \(error)")
        }
        result.redirect = fields["redirect"].flatMap { $0.isEmpty ? nil : $0 }
        return result
    }

    /// The write one file of a form makes and its size limit, once the fields sign the form
    /// with one of `keys`.
    func formWrite(_ fields: [String: String], _ part: FormData.Part, paths: [String], keys: [String])
        throws(UpdraftError) -> (ObjectWrite, Int64)
    {
        var write = ObjectWrite()
        guard let maxSize = Int64(fields["max_file_size"] ?? "0") else {
            throw .badRequest("FormPost: max_file_size not an integer")
        }
        if let at = fields["x_delete_at"] {
            guard let seconds = Double(at) else {
                throw .badRequest("FormPost: x_delete_at not an integer: Unix timestamp required.")
            }
            write.deleteAt = seconds
        }
        if let after = fields["x_delete_after"] {
            guard let seconds = Double(after) else {
                throw .badRequest("FormPost: x_delete_after not an integer: Number of seconds required.")
            }
            write.deleteAt = (Self.now + seconds).rounded(.down)
        }
        write.contentType = fields["content-type"] ?? part.contentType
        if write.contentType?.isEmpty == true { write.contentType = "application/octet-stream" }
        if let encoding = fields["content-encoding"] ?? part.contentEncoding { write.headers["content-encoding"] = encoding }
        guard let expires = Double(fields["expires"] ?? "0") else { throw .badRequest("FormPost: expired not an integer") }
        guard expires >= Self.now else { throw .unauthorized("FormPost: Form Expired") }
        let messages = paths.map { path in
            [
                path, fields["redirect"] ?? "", fields["max_file_size"] ?? "0", fields["max_file_count"] ?? "0",
                fields["expires"] ?? "0",
            ].joined(separator: "\n")
        }
        guard Self.signs(fields["signature"] ?? "", any: messages, keys: keys) else {
            throw .unauthorized("FormPost: Invalid Signature")
        }
        return (write, maxSize)
    }
}

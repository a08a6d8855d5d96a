import Foundation
import SQLKit
import UpdraftCore
import UpdraftDatabase

/// Mapping rows to models and back.
extension ImageService {
    static func image(_ row: any SQLRow) throws -> Image {
        guard let status = Image.Status(rawValue: try row.string("status")),
            let visibility = Image.Visibility(rawValue: try row.string("visibility"))
        else { throw UpdraftError.internal("image row \(try row.string("id")) has an unknown status or visibility") }
        var image = Image(
            id: try row.string("id"), name: try row.optionalString("name"), status: status, visibility: visibility,
            protected: try row.bool("protected"), hidden: try row.bool("os_hidden"), owner: try row.optionalString("owner"),
            minRAM: try row.int("min_ram"), minDisk: try row.int("min_disk"), diskFormat: try row.optionalString("disk_format"),
            containerFormat: try row.optionalString("container_format"),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")), tags: strings(try row.string("tags")),
            properties: properties(try row.string("properties")))
        image.updatedAt = Date(timeIntervalSince1970: try row.double("updated_at"))
        image.checksum = try row.optionalString("checksum")
        image.hashAlgorithm = try row.optionalString("os_hash_algo")
        image.hashValue = try row.optionalString("os_hash_value")
        image.size = try row.decode(column: "size", as: Int64?.self)
        image.virtualSize = try row.decode(column: "virtual_size", as: Int64?.self)
        return image
    }

    static func member(_ row: any SQLRow) throws -> ImageMember {
        guard let status = ImageMember.Status(rawValue: try row.string("status")) else {
            throw UpdraftError.internal("image member row has an unknown status")
        }
        return ImageMember(
            imageID: try row.string("image_id"), memberID: try row.string("member_id"), status: status,
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")))
    }

    static func insert(_ image: Image, _ db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO images (id, name, status, visibility, protected, os_hidden, checksum, os_hash_algo, os_hash_value,
              owner, size, virtual_size, min_ram, min_disk, disk_format, container_format, tags, properties, created_at,
              updated_at)
            VALUES (\(bind: image.id), \(bind: image.name), \(bind: image.status.rawValue), \(bind: image.visibility.rawValue),
              \(bind: image.protected), \(bind: image.hidden), \(bind: image.checksum), \(bind: image.hashAlgorithm),
              \(bind: image.hashValue), \(bind: image.owner), \(bind: image.size), \(bind: image.virtualSize),
              \(bind: image.minRAM), \(bind: image.minDisk), \(bind: image.diskFormat), \(bind: image.containerFormat),
              \(bind: text(image.tags)), \(bind: text(image.properties)), \(bind: image.createdAt.timeIntervalSince1970),
              \(bind: image.updatedAt.timeIntervalSince1970))
            """
        ).run()
    }

    /// Writes every changeable column of `image`, stamping `updated_at`.
    @discardableResult
    static func save(_ image: Image, _ db: any SQLDatabase) async throws -> Image {
        var image = image
        image.updatedAt = Date.now
        try await db.raw(
            """
            UPDATE images SET name = \(bind: image.name), status = \(bind: image.status.rawValue),
              visibility = \(bind: image.visibility.rawValue), protected = \(bind: image.protected),
              os_hidden = \(bind: image.hidden), checksum = \(bind: image.checksum), os_hash_algo = \(bind: image.hashAlgorithm),
              os_hash_value = \(bind: image.hashValue), owner = \(bind: image.owner), size = \(bind: image.size),
              virtual_size = \(bind: image.virtualSize), min_ram = \(bind: image.minRAM), min_disk = \(bind: image.minDisk),
              disk_format = \(bind: image.diskFormat), container_format = \(bind: image.containerFormat),
              tags = \(bind: text(image.tags)), properties = \(bind: text(image.properties)),
              updated_at = \(bind: image.updatedAt.timeIntervalSince1970)
            WHERE id = \(bind: image.id)
            """
        ).run()
        return image
    }

    static func text(_ value: some Encodable) -> String {
        (try? String(decoding: JSONEncoder().encode(value), as: UTF8.self)) ?? "null"
    }

    static func strings(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    static func properties(_ text: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}

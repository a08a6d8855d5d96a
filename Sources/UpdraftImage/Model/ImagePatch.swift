import UpdraftCore

/// A Glance `application/openstack-images-v2.1-json-patch` document: add, replace and
/// remove on top-level attributes and properties, and on single tags (`/tags/-`, `/tags/1`).
public struct ImagePatch: Sendable, Equatable {
    public enum Op: String, Sendable {
        case add, replace, remove
    }

    /// One step: an attribute (`/name`), a property (`/hw_disk_bus`) or a tag index.
    public struct Operation: Sendable, Equatable {
        public var op: Op
        public var attribute: String
        /// `-` or an index, for `/tags/...`.
        public var index: String?
        public var value: JSONValue?
    }

    public var operations: [Operation]

    /// The media type Glance requires for `PATCH /v2/images/{id}`.
    public static let mediaType = "application/openstack-images-v2.1-json-patch"

    /// Parses a request body: 400 unless it is a list of well-formed operations.
    public init(parsing body: JSONValue) throws(UpdraftError) {
        guard case .array(let items) = body else {
            throw .badRequest("Request body must be a JSON array of operation objects.")
        }
        var operations: [Operation] = []
        for item in items {
            guard case .object(let fields) = item else {
                throw .badRequest("Operations must be JSON objects.")
            }
            let (op, path) = try Self.opAndPath(fields)
            let parts = try Self.pointer(path)
            guard parts.count == 1 || (parts.count == 2 && parts[0] == "tags" && op != .replace) else {
                throw .badRequest("Invalid JSON pointer for this resource: '\(path)'")
            }
            let value = fields["value"]
            if op != .remove, value == nil {
                throw .badRequest("Operation objects must contain exactly one member named \"value\".")
            }
            operations.append(
                Operation(
                    op: op, attribute: parts[0], index: parts.count == 2 ? parts[1] : nil, value: op == .remove ? nil : value))
        }
        self.operations = operations
    }

    /// `{"op": "replace", "path": "/name"}`, or the older form Glance still accepts and
    /// tempest sends, `{"replace": "/name"}`.
    static func opAndPath(_ fields: [String: JSONValue]) throws(UpdraftError) -> (Op, String) {
        if case .string(let name)? = fields["op"] {
            guard let op = Op(rawValue: name) else {
                throw .badRequest("Invalid operation: `\(name)`. It must be one of the following: add, remove, replace.")
            }
            guard case .string(let path)? = fields["path"] else {
                throw .badRequest("Unable to find 'path' in JSON Schema change")
            }
            return (op, path)
        }
        let named = [Op.add, .replace, .remove].filter { fields[$0.rawValue] != nil }
        guard named.count == 1, let op = named.first else {
            throw .badRequest("Unable to find 'op' in JSON Schema change")
        }
        guard case .string(let path)? = fields[op.rawValue] else {
            throw .badRequest("Invalid JSON pointer for this resource: the path must be a string.")
        }
        return (op, path)
    }

    /// RFC 6901: `/a~1b` names `a/b`, `~0` is `~`.
    static func pointer(_ path: String) throws(UpdraftError) -> [String] {
        guard path.hasPrefix("/"), path.count > 1 else {
            throw .badRequest("Pointer `\(path)` does not start with \"/\".")
        }
        var parts: [String] = []
        for part in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw .badRequest("Pointer `\(path)` contains adjacent \"/\".") }
            guard !part.replacingOccurrences(of: "~0", with: "").replacingOccurrences(of: "~1", with: "").contains("~") else {
                throw .badRequest("Pointer `\(path)` contains \"~\" not part of a recognized escape sequence.")
            }
            parts.append(part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~"))
        }
        return parts
    }

    /// Applies every operation in order to a copy of `image`; nothing changes when one fails.
    /// `isAdmin` decides who may publish an image, change its owner, or feature it.
    public func apply(to image: Image, isAdmin: Bool) throws(UpdraftError) -> Image {
        var image = image
        for operation in operations {
            try apply(operation, to: &image, isAdmin: isAdmin)
        }
        return image
    }

    private func apply(_ operation: Operation, to image: inout Image, isAdmin: Bool) throws(UpdraftError) {
        let name = operation.attribute
        if Image.readOnlyAttributes.contains(name) {
            throw .forbidden("Attribute '\(name)' is read-only.")
        }
        if name == "locations" {
            throw .forbidden("It's not allowed to update locations of an image.")
        }
        if name == "tags" {
            try applyTags(operation, to: &image)
            return
        }
        if Image.coreAttributes.contains(name) {
            guard operation.op != .remove else {
                throw .forbidden("Properties \(name) cannot be removed: it is a core attribute.")
            }
            try ImageRules.set(name, operation.value ?? .null, on: &image, isAdmin: isAdmin)
            return
        }
        try ImageRules.checkPropertyName(name, isAdmin: isAdmin)
        switch operation.op {
        case .add:
            image.properties[name] = try ImageRules.propertyValue(name, operation.value)
        case .replace:
            guard image.properties[name] != nil else { throw .conflict("Property \(name) does not exist.") }
            image.properties[name] = try ImageRules.propertyValue(name, operation.value)
        case .remove:
            guard image.properties.removeValue(forKey: name) != nil else {
                throw .conflict("Property \(name) does not exist.")
            }
        }
    }

    private func applyTags(_ operation: Operation, to image: inout Image) throws(UpdraftError) {
        guard let index = operation.index else {
            guard operation.op != .remove else { throw .forbidden("Properties tags cannot be removed: it is a core attribute.") }
            image.tags = try ImageRules.tags(operation.value ?? .null)
            return
        }
        switch operation.op {
        case .add:
            guard case .string(let tag)? = operation.value else {
                throw .badRequest("Invalid value for tags: a tag is a string.")
            }
            try ImageRules.checkTag(tag)
            if !image.tags.contains(tag) { image.tags.append(tag) }
        case .remove:
            guard let position = Int(index), image.tags.indices.contains(position) else {
                throw .conflict("Tag index \(index) does not exist.")
            }
            image.tags.remove(at: position)
        case .replace:
            throw .badRequest("Invalid JSON pointer for this resource: '/tags/\(index)'")
        }
    }
}

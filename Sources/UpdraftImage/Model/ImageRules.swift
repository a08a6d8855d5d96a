import UpdraftCore

/// Glance's checks on attribute and property values, shared by create and patch.
public enum ImageRules {
    /// Properties in these namespaces belong to the service (Glance reserves `os_glance`).
    static let reservedPrefixes = ["os_glance"]

    /// Sets core attribute `name` from a JSON value, with Glance's type and permission checks.
    static func set(_ name: String, _ value: JSONValue, on image: inout Image, isAdmin: Bool) throws(UpdraftError) {
        switch name {
        case "name":
            image.name = try optionalString(name, value, maxLength: 255)
        case "visibility":
            guard case .string(let text) = value, let visibility = Image.Visibility(rawValue: text) else {
                throw .badRequest("Invalid value for visibility: must be one of public, private, shared, community.")
            }
            if visibility == .public, !isAdmin, image.visibility != .public {
                throw .forbidden("You are not authorized to complete publicize_image action.")
            }
            image.visibility = visibility
        case "protected":
            image.protected = try bool(name, value)
        case "os_hidden":
            image.hidden = try bool(name, value)
        case "min_ram":
            image.minRAM = try count(name, value)
        case "min_disk":
            image.minDisk = try count(name, value)
        case "disk_format", "container_format":
            guard image.status == .queued else {
                throw .forbidden("Attribute \(name) can be only replaced for a queued image.")
            }
            let format = try optionalString(name, value, maxLength: 255)
            if name == "disk_format" {
                image.diskFormat = try checkFormat(format, allowed: Image.diskFormats, name)
            } else {
                image.containerFormat = try checkFormat(format, allowed: Image.containerFormats, name)
            }
        case "owner":
            guard isAdmin else { throw .forbidden("Only an administrator may change the owner of an image.") }
            image.owner = try optionalString(name, value, maxLength: 255)
        case "tags":
            image.tags = try tags(value)
        default:
            throw .forbidden("Attribute '\(name)' is read-only.")
        }
    }

    /// A property name a caller may set.
    static func checkPropertyName(_ name: String, isAdmin: Bool) throws(UpdraftError) {
        if reservedPrefixes.contains(where: { name.hasPrefix($0) }) {
            throw .forbidden("Attribute '\(name)' is reserved.")
        }
        if name == Image.featuredProperty, !isAdmin {
            throw .forbidden("Only an administrator may feature an image (\(Image.featuredProperty)).")
        }
        guard name.count <= 255 else { throw .badRequest("Property name \(name.prefix(40))... is longer than 255 characters.") }
    }

    /// Glance's schema makes every extra property a string.
    static func propertyValue(_ name: String, _ value: JSONValue?) throws(UpdraftError) -> String {
        guard case .string(let text)? = value else {
            throw .badRequest("Invalid value for property '\(name)': additional properties must be strings.")
        }
        return text
    }

    static func tags(_ value: JSONValue) throws(UpdraftError) -> [String] {
        guard case .array(let items) = value else { throw .badRequest("Invalid value for tags: expected a list of strings.") }
        var tags: [String] = []
        for item in items {
            guard case .string(let tag) = item else { throw .badRequest("Invalid value for tags: expected a list of strings.") }
            try checkTag(tag)
            if !tags.contains(tag) { tags.append(tag) }
        }
        return tags
    }

    /// Tags are at most 255 characters, as Glance's schema says.
    public static func checkTag(_ tag: String) throws(UpdraftError) {
        guard !tag.isEmpty, tag.count <= 255 else {
            throw .badRequest("Invalid tag '\(tag.prefix(40))': a tag is 1 to 255 characters.")
        }
    }

    static func checkFormat(_ format: String?, allowed: [String], _ name: String) throws(UpdraftError) -> String? {
        guard let format else { return nil }
        guard allowed.contains(format) else {
            throw .badRequest("Invalid value '\(format)' for \(name): must be one of \(allowed.joined(separator: ", ")).")
        }
        return format
    }

    static func optionalString(_ name: String, _ value: JSONValue, maxLength: Int) throws(UpdraftError) -> String? {
        switch value {
        case .null: return nil
        case .string(let text):
            guard text.count <= maxLength else {
                throw .badRequest("Invalid value for \(name): longer than \(maxLength) characters.")
            }
            return text
        default: throw .badRequest("Invalid value for \(name): expected a string.")
        }
    }

    static func bool(_ name: String, _ value: JSONValue) throws(UpdraftError) -> Bool {
        guard case .bool(let flag) = value else { throw .badRequest("Invalid value for \(name): expected a boolean.") }
        return flag
    }

    static func count(_ name: String, _ value: JSONValue) throws(UpdraftError) -> Int {
        guard let number = value.exactInteger, number >= 0, number < 1 << 50 else {
            throw .badRequest("Invalid value for \(name): expected a non-negative integer.")
        }
        return number
    }
}

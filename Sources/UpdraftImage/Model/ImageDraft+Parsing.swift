import Foundation
import UpdraftCore

extension ImageDraft {
    /// Reads the body of `POST /v2/images`: Glance's flat image object, where every key that
    /// is not a core attribute is a string property. Read-only attributes are 403, wrong types 400.
    public init(parsing body: JSONValue, isAdmin: Bool) throws(UpdraftError) {
        guard case .object(let fields) = body else {
            throw .badRequest("Request body must be a JSON object describing the image.")
        }
        self.init(name: nil, diskFormat: nil, containerFormat: nil)
        // Checked and typed by the same rules PATCH uses, on a scratch image.
        var scratch = Image(
            id: "", name: nil, status: .queued, visibility: .shared, owner: nil, diskFormat: nil, containerFormat: nil,
            createdAt: Date(timeIntervalSince1970: 0))
        var visibilityGiven = false
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            if key == "id" {
                guard case .string(let id) = value, UUID(uuidString: id) != nil else {
                    throw .badRequest("Invalid value for id: it must be a UUID.")
                }
                self.id = id.lowercased()
            } else if Image.readOnlyAttributes.contains(key) || key == "locations" {
                throw .forbidden("Attribute '\(key)' is read-only.")
            } else if key == "owner" {
                try ImageRules.set(key, value, on: &scratch, isAdmin: isAdmin)
                owner = scratch.owner
            } else if Image.coreAttributes.contains(key) {
                try ImageRules.set(key, value, on: &scratch, isAdmin: true)
                visibilityGiven = visibilityGiven || key == "visibility"
            } else {
                try ImageRules.checkPropertyName(key, isAdmin: isAdmin)
                properties[key] = try ImageRules.propertyValue(key, value)
            }
        }
        name = scratch.name
        diskFormat = scratch.diskFormat
        containerFormat = scratch.containerFormat
        visibility = visibilityGiven ? scratch.visibility : nil
        protected = scratch.protected
        hidden = scratch.hidden
        minDisk = scratch.minDisk
        minRAM = scratch.minRAM
        tags = scratch.tags
    }
}

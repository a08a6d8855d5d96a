import UpdraftCore

/// A container's `X-Container-Read` or `X-Container-Write`, as Swift's keystoneauth reads it:
/// comma-separated `.r:<referrer>` (`.r:*` lets anyone read objects), `.rlistings` (and list
/// the container), and `<project>:<user>` grants by id, either side `*`.
public struct ContainerACL: Sendable, Equatable {
    public var referrers: [String] = []
    public var listings = false
    public var grants: [Grant] = []

    public struct Grant: Sendable, Equatable {
        public var project: String
        public var user: String
    }

    /// Parses an ACL; 400 with Swift's words for an element it does not know.
    public init(parsing text: String) throws(UpdraftError) {
        for raw in text.split(separator: ",") {
            let element = raw.trimmingCharacters(in: .whitespaces)
            if element.isEmpty { continue }
            if element.hasPrefix(".") {
                if element == ".rlistings" {
                    listings = true
                } else if element.hasPrefix(".r:") || element.hasPrefix(".ref:") || element.hasPrefix(".referer:")
                    || element.hasPrefix(".referrer:")
                {
                    let value = String(element.drop(while: { $0 != ":" }).dropFirst())
                    if value.isEmpty || value == "-" {
                        throw .badRequest("No host/domain value after referrer designation in ACL: \(element)")
                    }
                    referrers.append(value)
                } else {
                    throw .badRequest("Unknown designator \(element) in ACL")
                }
            } else if let colon = element.firstIndex(of: ":") {
                grants.append(
                    Grant(project: String(element[..<colon]), user: String(element[element.index(after: colon)...])))
            } else {
                // A bare name grants that project's users in keystoneauth's legacy form.
                grants.append(Grant(project: element, user: "*"))
            }
        }
    }

    /// Whether anyone, without a token, may read the container's objects (`.r:*`). Other
    /// referrer rules trust the `Referer` header, which any client sets as it likes; only
    /// the wildcard is honoured.
    public var publicRead: Bool { referrers.contains("*") }

    /// Whether `caller` holds a grant in this ACL.
    public func grants(_ caller: AuthContext) -> Bool {
        guard let project = caller.projectID else { return false }
        return grants.contains { grant in
            (grant.project == "*" || grant.project == project) && (grant.user == "*" || grant.user == caller.userID)
        }
    }
}

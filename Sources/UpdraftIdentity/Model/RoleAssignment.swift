/// One role held by a user or group on a project, a domain or the system.
public struct RoleAssignment: Encodable, Sendable, Equatable {
    public enum ActorType: String, Sendable { case user, group }
    public enum TargetType: String, Sendable { case project, domain, system }

    /// A named thing in the answer, with its domain when `include_names` asks for it.
    public struct Ref: Encodable, Sendable, Equatable {
        public var id: String
        public var name: String?
        public var domain: [String: String]?
    }

    public var actorType: ActorType
    public var actor: Ref
    public var targetType: TargetType
    public var target: Ref
    public var role: Ref
    /// The group an effective user assignment came through.
    public var viaGroup: String?
    /// An OS-INHERIT grant: it applies to the projects below its target, not to the target.
    public var inherited = false

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("role", role)
        try c.put(actorType.rawValue, actor)
        switch targetType {
        case .system: try c.put("scope", ["system": ["all": true]])
        case .project, .domain:
            var scope = ScopeBody(target: target, key: targetType.rawValue)
            scope.inheritedTo = inherited ? "projects" : nil
            try c.put("scope", scope)
        }
        let base = encoder.userInfo[Links.baseKey] as? String ?? ""
        let targetPath = targetType == .system ? "system" : "\(targetType.rawValue)s/\(target.id)"
        let assignment = "\(targetPath)/\(actorType.rawValue)s/\(actor.id)/roles/\(role.id)"
        var links = [
            "assignment": inherited
                ? "\(base)/v3/OS-INHERIT/\(assignment)/inherited_to_projects" : "\(base)/v3/\(assignment)"
        ]
        if let viaGroup { links["membership"] = "\(base)/v3/groups/\(viaGroup)/users/\(actor.id)" }
        try c.put("links", links)
    }

    /// `{"project": {...}}`, with `"OS-INHERIT:inherited_to": "projects"` for inherited grants.
    private struct ScopeBody: Encodable {
        var target: Ref
        var key: String
        var inheritedTo: String?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.put(key, target)
            if let inheritedTo { try c.put("OS-INHERIT:inherited_to", inheritedTo) }
        }
    }
}

/// Who may do what: the one place every service asks.
///
/// The roles are Keystone's defaults: `admin` ⊃ `member` ⊃ `reader`. An `admin` role in
/// any scope is a cloud administrator (as OpenStack's default policies treat it when
/// scope is not enforced); everyone else acts only inside the project their token is
/// scoped to, and on their own user.
public enum Policy {
    /// A rule a request must satisfy.
    public enum Rule: Sendable, Equatable {
        /// A cloud administrator.
        case admin
        /// Read a project's resources: `reader` on that project.
        case projectReader(String)
        /// Change a project's resources: `member` on that project.
        case projectMember(String)
        /// Act on one's own user (password, application credentials, EC2 credentials).
        case user(String)
        /// Any authenticated caller.
        case authenticated
        /// `member` in the token's own scope, whatever it is scoped to: the rule a route that
        /// changes a project's resources names, checked before its handler looks at the
        /// resource's own project. A reader never passes it.
        case member
    }

    /// True when `context` satisfies `rule`.
    public static func allows(_ context: AuthContext, _ rule: Rule) -> Bool {
        if isAdmin(context) { return true }
        switch rule {
        case .admin: return false
        case .projectReader(let project): return context.projectID == project && context.roles.contains("reader")
        case .projectMember(let project): return context.projectID == project && context.roles.contains("member")
        case .user(let user): return context.userID == user
        case .authenticated: return true
        case .member: return context.roles.contains("member")
        }
    }

    /// Throws `forbidden` unless `context` satisfies `rule`.
    public static func authorize(_ context: AuthContext, _ rule: Rule) throws(UpdraftError) {
        guard allows(context, rule) else { throw .forbidden() }
    }

    /// A cloud administrator: holds `admin` in the token's scope.
    public static func isAdmin(_ context: AuthContext) -> Bool {
        context.roles.contains("admin")
    }
}

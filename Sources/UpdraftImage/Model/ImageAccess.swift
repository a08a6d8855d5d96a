import UpdraftCore

/// Glance's visibility rules: who sees an image, who lists it, who changes it.
public enum ImageAccess {
    /// Whether `caller` may see the image at all (`GET /v2/images/{id}`): administrators
    /// see every image; others see public and community images, their project's own, and
    /// shared images their project is a member of, whatever the member status.
    public static func canSee(_ image: Image, membership: ImageMember.Status?, caller: AuthContext) -> Bool {
        if Policy.isAdmin(caller) { return true }
        switch image.visibility {
        case .public, .community: return true
        case .private: return isOwner(image, caller)
        case .shared: return isOwner(image, caller) || membership != nil
        }
    }

    /// Whether the image belongs in `caller`'s `GET /v2/images` for `query`'s visibility and
    /// member-status filters. Without a visibility filter a list holds public images, the
    /// project's own, and shared images the project accepted; community images appear only
    /// when asked for or owned.
    public static func isListed(
        _ image: Image, membership: ImageMember.Status?, caller: AuthContext, query: ImageListQuery
    ) -> Bool {
        guard canSee(image, membership: membership, caller: caller) else { return false }
        let owner = isOwner(image, caller)
        let admin = Policy.isAdmin(caller)
        let memberOK: Bool =
            switch query.memberStatus {
            case .all: membership != nil
            case .status(let wanted): membership == wanted
            }
        switch query.visibility {
        case .all:
            return image.visibility != .shared || owner || admin || memberOK
        case .only(let wanted):
            guard image.visibility == wanted else { return false }
            if wanted == .shared { return owner || memberOK || (admin && membership == nil) }
            return true
        case nil:
            switch image.visibility {
            case .public: return true
            case .private: return owner || admin
            case .community: return owner
            case .shared: return owner || memberOK || (admin && membership == nil)
            }
        }
    }

    /// Whether `caller` may change the image, upload its data, or manage its members:
    /// a member of the owning project, or an administrator.
    public static func canChange(_ image: Image, caller: AuthContext) -> Bool {
        if Policy.isAdmin(caller) { return true }
        guard let owner = image.owner else { return false }
        return Policy.allows(caller, .projectMember(owner))
    }

    static func isOwner(_ image: Image, _ caller: AuthContext) -> Bool {
        guard let project = caller.projectID else { return false }
        return image.owner == project
    }
}

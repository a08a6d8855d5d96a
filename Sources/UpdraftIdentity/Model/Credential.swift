import UpdraftCore

/// A stored credential (`/v3/credentials`); EC2 credentials are the kind with type `ec2`
/// and a blob holding `access` and `secret`. Blobs are sealed at rest.
public struct Credential: Encodable, Sendable, Equatable {
    public var id: String
    public var userID: String
    public var projectID: String?
    public var type: String
    public var blob: String

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("id", id)
        try c.put("user_id", userID)
        try c.putOrNull("project_id", projectID)
        try c.put("type", type)
        try c.put("blob", blob)
        try c.put("links", Links.link(encoder, "credentials/\(id)"))
    }

    /// The EC2 view (`/v3/users/{id}/credentials/OS-EC2`), when this is an EC2 credential.
    public var ec2: EC2Credential? {
        guard type == "ec2", case .object(let fields) = JSONValue.decode(text: blob),
            case .string(let access)? = fields["access"], case .string(let secret)? = fields["secret"]
        else { return nil }
        return EC2Credential(userID: userID, projectID: projectID ?? "", access: access, secret: secret)
    }
}

/// An EC2-style access/secret pair for the S3 API.
public struct EC2Credential: Encodable, Sendable, Equatable {
    public var userID: String
    public var projectID: String
    public var access: String
    public var secret: String

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("user_id", userID)
        try c.put("tenant_id", projectID)
        try c.put("access", access)
        try c.put("secret", secret)
        try c.putOrNull("trust_id", String?.none)
        try c.put("links", Links.link(encoder, "users/\(userID)/credentials/OS-EC2/\(access)"))
    }
}

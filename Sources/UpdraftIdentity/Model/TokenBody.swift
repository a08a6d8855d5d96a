import Foundation
import UpdraftCore

/// A catalog entry as tokens and `/v3/auth/catalog` carry it.
public struct CatalogEntry: Encodable, Sendable, Equatable {
    public struct URLEntry: Encodable, Sendable, Equatable {
        public var id: String
        public var interface: String
        public var region: String?
        public var url: String

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.put("id", id)
            try c.put("interface", interface)
            try c.putOrNull("region", region)
            try c.putOrNull("region_id", region)
            try c.put("url", url)
        }
    }

    public var id: String
    public var type: String
    public var name: String
    public var endpoints: [URLEntry]
}

/// The `token` object of Keystone's token responses: the sealed payload with names filled in.
public struct TokenBody: Encodable, Sendable {
    public var payload: TokenPayload
    public var userName: String
    public var userDomainName: String
    public var projectName: String?
    public var projectDomainName: String?
    public var domainName: String?
    public var applicationCredentialName: String?
    public var applicationCredentialRestricted: Bool = true
    public var catalog: [CatalogEntry]?
    /// The trust a trust-scoped token acts through.
    public var trust: Trust?

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.put("methods", payload.methods)
        try c.put(
            "user",
            UserRef(
                id: payload.userID, name: userName, domain: .init(id: payload.userDomainID, name: userDomainName)))
        try c.put("audit_ids", payload.auditIDs)
        try c.put("expires_at", Timestamp.microseconds(Date(timeIntervalSince1970: payload.expiresAt)))
        try c.put("issued_at", Timestamp.microseconds(Date(timeIntervalSince1970: payload.issuedAt)))
        if let projectID = payload.projectID {
            try c.put(
                "project",
                ProjectRef(
                    id: projectID, name: projectName ?? "",
                    domain: .init(id: payload.projectDomainID ?? "", name: projectDomainName ?? "")))
            try c.put("is_domain", false)
        } else if let domainID = payload.domainID {
            try c.put("domain", NamedRef(id: domainID, name: domainName ?? ""))
        } else if payload.system {
            try c.put("system", ["all": true])
        }
        if payload.projectID != nil || payload.domainID != nil || payload.system {
            try c.put("roles", payload.roles.map { ["id": $0.id, "name": $0.name] })
        }
        if let id = payload.applicationCredentialID {
            try c.put(
                "application_credential",
                AppCredRef(id: id, name: applicationCredentialName ?? "", restricted: applicationCredentialRestricted))
        }
        if let trust {
            try c.put(
                "OS-TRUST:trust",
                TrustRef(
                    id: trust.id, impersonation: trust.impersonation, trustee_user: ["id": trust.trusteeUserID],
                    trustor_user: ["id": trust.trustorUserID]))
        }
        if let catalog { try c.put("catalog", catalog) }
    }

    private struct NamedRef: Encodable {
        var id: String
        var name: String
    }

    private struct UserRef: Encodable {
        var id: String
        var name: String
        var domain: NamedRef
        var password_expires_at: String? = nil

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.put("id", id)
            try c.put("name", name)
            try c.put("domain", domain)
            try c.putOrNull("password_expires_at", password_expires_at)
        }
    }

    private struct ProjectRef: Encodable {
        var id: String
        var name: String
        var domain: NamedRef
    }

    private struct TrustRef: Encodable {
        var id: String
        var impersonation: Bool
        var trustee_user: [String: String]
        var trustor_user: [String: String]
    }

    private struct AppCredRef: Encodable {
        var id: String
        var name: String
        var restricted: Bool
    }
}

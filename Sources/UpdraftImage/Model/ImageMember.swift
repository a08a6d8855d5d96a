import Foundation
import UpdraftCore

/// A project an image is shared with, and whether that project accepted it.
public struct ImageMember: Encodable, Sendable, Equatable {
    /// The member project's answer to the share; only it may change it.
    public enum Status: String, Sendable, CaseIterable {
        case pending, accepted, rejected
    }

    public var imageID: String
    public var memberID: String
    public var status: Status
    public var createdAt: Date
    public var updatedAt: Date

    public init(imageID: String, memberID: String, status: Status, createdAt: Date, updatedAt: Date) {
        self.imageID = imageID
        self.memberID = memberID
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: ImageKey.self)
        try c.encode(imageID, forKey: "image_id")
        try c.encode(memberID, forKey: "member_id")
        try c.encode(status.rawValue, forKey: "status")
        try c.encode(Timestamp.iso8601(createdAt), forKey: "created_at")
        try c.encode(Timestamp.iso8601(updatedAt), forKey: "updated_at")
        try c.encode("/v2/schemas/member", forKey: "schema")
    }
}

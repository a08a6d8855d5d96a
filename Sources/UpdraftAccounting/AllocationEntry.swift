import Foundation
import SQLKit
import UpdraftDatabase

/// One audited change to an allocation: its award, a supplement, an extension, either side
/// of a transfer, its deletion, or a step the expiry lifecycle took.
public struct AllocationEntry: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case award, supplement
        case `extension`
        case transferIn = "transfer_in"
        case transferOut = "transfer_out"
        case deletion
        /// The lifecycle shelved the allocation's instances.
        case shelved
        /// The lifecycle deleted the allocation's instances (and the project's storage).
        case deleted
        /// An instance of a project that opted in was shelved for idling.
        case idleShelved = "idle_shelved"
    }

    /// Set once recorded: the order entries were written in.
    public var id: Int?
    public var allocationID: String
    public var projectID: String
    public var at: Date
    public var kind: Kind
    /// SUs the entry adds (negative: takes away), when it changes the award.
    public var sus: Double?
    /// The new end date, for an extension (and the first one, for the award).
    public var end: Date?
    /// Who made the change; nil for the cloud itself.
    public var userID: String?
    public var note: String?

    public init(
        id: Int? = nil, allocationID: String, projectID: String, at: Date, kind: Kind, sus: Double?, end: Date?,
        userID: String?, note: String?
    ) {
        self.id = id
        self.allocationID = allocationID
        self.projectID = projectID
        self.at = at
        self.kind = kind
        self.sus = sus
        self.end = end
        self.userID = userID
        self.note = note
    }

    init(row: any SQLRow) throws {
        self.init(
            id: try row.int("id"), allocationID: try row.string("allocation_id"), projectID: try row.string("project_id"),
            at: Date(timeIntervalSince1970: try row.double("at")),
            kind: Kind(rawValue: try row.string("kind")) ?? .award, sus: try row.optionalDouble("sus"),
            end: try row.optionalDouble("end_at").map(Date.init(timeIntervalSince1970:)),
            userID: try row.optionalString("user_id"),
            note: try row.optionalString("note"))
    }
}

import Foundation
import Synchronization
import UpdraftCore
import UpdraftDatabase

/// Revocation events, held in memory and persisted, so that a deleted token, a disabled
/// user, a changed password or a removed role takes effect on the next request.
///
/// An event says "tokens of this subject issued before this instant are void".
public final class RevocationList: Sendable {
    /// What an event revokes.
    public enum Subject: String, Sendable, CaseIterable {
        case auditID = "audit"
        case user
        case project
        case domain
        case applicationCredential = "app_cred"
        /// A user's tokens on one project, domain or the system (a removed role assignment).
        case grant
        /// Tokens issued through a deleted trust.
        case trust
    }

    /// The value of a `.grant` event.
    public static func grantKey(user: String, target: String) -> String { user + "|" + target }

    private let events = Mutex<[Subject: [String: Double]]>([:])
    /// When the store was last read in full or in part.
    private let newestSeen = Mutex<Double>(0)
    private let database: Database?
    /// Events older than this no longer matter: every token they could void has expired.
    private let horizon: TimeInterval

    public init(database: Database?, horizon: TimeInterval) {
        self.database = database
        self.horizon = horizon
    }

    /// Loads the events still inside the horizon and drops older ones from the store.
    public func load() async throws {
        guard let database else { return }
        let cutoff = Date.now.timeIntervalSince1970 - horizon
        let rows = try await database.withConnection { db in
            try await db.raw("DELETE FROM revocation_events WHERE revoked_at < \(bind: cutoff)").run()
            return try await db.raw("SELECT subject, value, revoked_at FROM revocation_events").all()
        }
        var loaded: [Subject: [String: Double]] = [:]
        for row in rows {
            guard let subject = Subject(rawValue: try row.decode(column: "subject", as: String.self)) else { continue }
            loaded[subject, default: [:]][try row.decode(column: "value", as: String.self)] = try row.decode(
                column: "revoked_at", as: Double.self)
        }
        events.withLock { $0 = loaded }
        newestSeen.withLock { $0 = Date.now.timeIntervalSince1970 }
    }

    /// Merges events that other controllers sharing the database recorded since the last
    /// look, so a token revoked on one host is refused on every host within one interval.
    public func refresh() async throws {
        guard let database else { return }
        // Reread a margin before the newest instant seen: other hosts' clocks and commits lag.
        let since = newestSeen.withLock { $0 } - 30
        let started = Date.now.timeIntervalSince1970
        let rows = try await database.withConnection { db in
            try await db.raw("SELECT subject, value, revoked_at FROM revocation_events WHERE revoked_at >= \(bind: since)").all()
        }
        var fresh: [(Subject, String, Double)] = []
        for row in rows {
            guard let subject = Subject(rawValue: try row.decode(column: "subject", as: String.self)) else { continue }
            fresh.append(
                (subject, try row.decode(column: "value", as: String.self), try row.decode(column: "revoked_at", as: Double.self))
            )
        }
        events.withLock { events in
            for (subject, value, at) in fresh {
                events[subject, default: [:]][value] = max(events[subject]?[value] ?? 0, at)
            }
        }
        newestSeen.withLock { $0 = max($0, started) }
    }

    /// Records that tokens of `subject` issued before now are void.
    public func revoke(_ subject: Subject, _ value: String, at instant: Date = .now) async throws {
        let at = instant.timeIntervalSince1970
        events.withLock { events in
            events[subject, default: [:]][value] = max(events[subject]?[value] ?? 0, at)
        }
        guard let database else { return }
        try await database.withConnection { db in
            try await db.raw("DELETE FROM revocation_events WHERE subject = \(bind: subject.rawValue) AND value = \(bind: value)")
                .run()
            try await db.raw(
                "INSERT INTO revocation_events (subject, value, revoked_at) VALUES (\(bind: subject.rawValue), \(bind: value), \(bind: at))"
            ).run()
        }
    }

    /// True when an event voids `payload`.
    public func isRevoked(_ payload: TokenPayload) -> Bool {
        events.withLock { events in
            func voids(_ subject: Subject, _ value: String?) -> Bool {
                guard let value, let at = events[subject]?[value] else { return false }
                return payload.issuedAt <= at
            }
            return voids(.auditID, payload.auditIDs.first)
                || voids(.user, payload.userID)
                || voids(.project, payload.projectID)
                || voids(.domain, payload.domainID ?? payload.projectDomainID)
                || voids(.domain, payload.userDomainID)
                || voids(.applicationCredential, payload.applicationCredentialID)
                || voids(.trust, payload.trustID)
                || voids(
                    .grant,
                    (payload.projectID ?? payload.domainID ?? (payload.system ? "all" : nil)).map {
                        Self.grantKey(user: payload.userID, target: $0)
                    })
        }
    }
}

import Foundation

/// One entry of `os-instance-actions`: who asked for what, and how it went.
public struct InstanceAction: Sendable, Equatable {
    public struct Event: Sendable, Equatable {
        public var event: String
        public var startTime: Date
        public var finishTime: Date?
        /// `Success` or `Error`, as Nova writes it.
        public var result: String?
        public var traceback: String?
    }

    public var id: Int
    public var instanceID: String
    public var action: String
    public var requestID: String
    public var userID: String
    public var projectID: String
    public var startTime: Date
    public var updatedAt: Date
    public var message: String?
    public var events: [Event]
}

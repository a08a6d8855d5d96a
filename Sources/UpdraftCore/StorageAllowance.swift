/// What a storage service asks before a project stores more bytes: a volume, an extension
/// or a snapshot, an image's upload, an object. Answered by the project's storage allocation
/// when the cloud keeps allocations; a cloud without them stores without asking.
public protocol StorageAllowance: Sendable {
    /// Throws `overLimit`, naming the allocation and its numbers, when `bytes` more would pass
    /// the project's storage allocation or the allocation is not in its dates.
    func authorizeStorage(projectID: String, adding bytes: Int64) async throws(UpdraftError)
}

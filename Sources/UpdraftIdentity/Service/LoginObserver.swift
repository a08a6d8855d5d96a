/// Told of a user's successful password login, before the token is issued and its scope
/// resolved: where a cloud with trial allocations makes a first-time user's project.
public protocol LoginObserver: Sendable {
    func passwordLogin(userID: String) async throws
}

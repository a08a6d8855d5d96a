/// What compute asks the accounting service before an instance starts to burn service units:
/// a launch, start, resume, unshelve or resize. The composition root bridges it to accounting.
public protocol ComputeAllocations: Sendable {
    /// Throws `forbidden`, naming the allocation and its numbers, when the project's allocation
    /// for the flavor's resource class is exhausted or has ended.
    func authorizeBurn(projectID: String, flavor: Flavor) async throws
}

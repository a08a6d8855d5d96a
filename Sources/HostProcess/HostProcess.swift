import Foundation

/// Namespace for the leaf module that starts every external program Updraft runs (QEMU,
/// its trial run, `qemu-img`, `genisoimage`, the image builder's tools, and the network
/// tools to come) in one way: a validated binary path, a clean signal mask and default
/// dispositions, its own session (so its whole process group can be signalled), a minimal
/// environment, no leaked descriptors, and a deadline on every wait. It imports nothing of Updraft.
public enum HostProcess {
    /// Where binaries given by bare name are looked for. Fixed rather than read from
    /// `PATH`, so what runs does not depend on who started `updraft`.
    public static let defaultSearchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// The environment a program runs with unless the caller gives another: nothing of the
    /// caller's leaks in.
    public static let minimalEnvironment = ["PATH": defaultSearchPath.joined(separator: ":"), "LC_ALL": "C"]

    /// Resolves `nameOrPath` to an executable file: a path containing `/` is checked as
    /// given, a bare name is looked up in `searchPath`.
    ///
    /// - Throws: ``Error/notFound(_:)`` when there is no such executable.
    public static func locate(_ nameOrPath: String, searchPath: [String] = defaultSearchPath) throws -> String {
        let manager = FileManager.default
        if nameOrPath.contains("/") {
            guard manager.isExecutableFile(atPath: nameOrPath) else { throw Error.notFound(nameOrPath) }
            return nameOrPath
        }
        for directory in searchPath {
            let candidate = directory + "/" + nameOrPath
            if manager.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw Error.notFound(nameOrPath)
    }
}

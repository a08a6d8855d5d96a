import Foundation

/// Namespace for building Updraft's own guest images from Debian packages.
///
/// It imports nothing of Updraft: the server asks ``cached(cacheDirectory:)`` for the artifacts and
/// the CLI runs ``Builder/build(force:)``. See README.md in this folder for the guest's contract.
public enum GuestImage {
    /// The one recipe: a BIOS-bootable disk with a Debian kernel and a busybox + dropbear initramfs.
    public static let recipe = "tiny"

    /// Bumped whenever the recipe's output changes for the same package versions; older caches are rebuilt.
    public static let recipeVersion = 4

    /// The line the guest prints on its serial console when it is ready, followed by its instance id.
    public static let bootMarker = "UPDRAFT-GUEST-READY instance-id="

    /// Where built images live: `$XDG_CACHE_HOME/updraft/images`, else `$HOME/.cache/updraft/images`.
    ///
    /// - Parameter environment: the caller's environment, usually `ProcessInfo.processInfo.environment`.
    /// - Returns: an absolute directory path; `/tmp/updraft/images` when neither variable is set.
    public static func defaultCacheDirectory(environment: [String: String]) -> String {
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") {
            return cache + "/updraft/images"
        }
        if let home = environment["HOME"], home.hasPrefix("/") {
            return home + "/.cache/updraft/images"
        }
        return "/tmp/updraft/images"
    }

    /// The artifacts of the current recipe version in `cacheDirectory`, or nil when they must be built.
    ///
    /// Reads `tiny.json` and checks that every file it names exists with the recorded size; it runs no
    /// program and hashes nothing, so the server may call it on every boot request.
    public static func cached(cacheDirectory: String) -> Artifacts? {
        let directory = URL(fileURLWithPath: cacheDirectory, isDirectory: true)
        let manifestURL = directory.appendingPathComponent(Artifacts.manifestName)
        guard let data = try? Data(contentsOf: manifestURL),
            let manifest = try? Manifest.decode(data)
        else { return nil }
        return Artifacts(directory: directory, manifest: manifest).validated()
    }
}

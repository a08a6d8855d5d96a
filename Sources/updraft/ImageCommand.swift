import ArgumentParser
import Foundation
import GuestImage
import Logging

/// `updraft image ...`: guest images Updraft builds for itself.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Build guest images from Debian packages and publish them.",
        subcommands: [Build.self, Publish.self])

    /// `updraft image build NAME`: `tiny` prints its disk, kernel, ramdisk and manifest paths;
    /// a library recipe (`debian-12`, ...) its disk and manifest.
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a guest image from Debian packages, or print the cached one's paths.",
            discussion: """
                tiny: Updraft's own test guest; prints the qcow2 disk, the kernel, the initramfs and tiny.json.
                Needs apt, dpkg, kmod, gzip, dosfstools, mtools, syslinux, syslinux-common, qemu-utils.

                debian-12, debian-12-science, debian-12-docker, or a site's recipe in /etc/updraft/recipes
                (NAME.json): a featured Debian 12 image with cloud-init, made by mmdebstrap (as root) from
                Debian's packages; prints the qcow2 disk and NAME.json. Needs mmdebstrap, e2fsprogs,
                dosfstools, mtools, syslinux, syslinux-common, qemu-utils.
                """)

        @Argument(help: "The recipe: tiny, debian-12, debian-12-science, debian-12-docker or a site's.")
        var recipe: String

        @Option(help: "Cache directory (default: $XDG_CACHE_HOME/updraft/images or ~/.cache/updraft/images).")
        var cacheDir: String?

        @Option(help: "Scratch directory, emptied first (default: <cache dir>/work).")
        var workDir: String?

        @Option(help: "Where a site's recipes are (NAME.json).")
        var recipesDir: String = GuestImage.LibraryRecipe.siteDirectory

        @Option(help: "The Debian mirror for library images.")
        var mirror: String = "http://deb.debian.org/debian"

        @Flag(help: "Build even when the current recipe version is cached.")
        var force = false

        @Flag(help: "Keep the scratch directory after a successful build.")
        var keepWorkDir = false

        @Flag(help: "Log each step on standard error.")
        var verbose = false

        func run() async throws {
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
            var logger = Logger(label: "updraft.image")
            logger.logLevel = verbose ? .info : .warning
            let environment = ProcessInfo.processInfo.environment
            let cache = absolute(cacheDir ?? GuestImage.defaultCacheDirectory(environment: environment))
            do {
                if recipe == GuestImage.recipe {
                    var configuration = GuestImage.Builder.Configuration(
                        cacheDirectory: cache, workDirectory: workDir.map(absolute))
                    configuration.removeWorkDirectory = !keepWorkDir
                    let artifacts = try await GuestImage.Builder(configuration: configuration, logger: logger).build(
                        force: force)
                    for url in [artifacts.disk, artifacts.kernel, artifacts.ramdisk, artifacts.manifestFile] {
                        print(url.path)
                    }
                    return
                }
                let resolved = try GuestImage.LibraryRecipe.resolve(recipe, siteDirectory: absolute(recipesDir))
                var configuration = GuestImage.LibraryBuilder.Configuration(
                    cacheDirectory: cache, workDirectory: workDir.map(absolute))
                configuration.removeWorkDirectory = !keepWorkDir
                configuration.mirror = mirror
                let image = try await GuestImage.LibraryBuilder(configuration: configuration, logger: logger).build(
                    resolved, force: force)
                print(image.disk.path)
                print(image.manifestFile.path)
            } catch {
                FileHandle.standardError.write(Data("updraft: \(oneLine(error))\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

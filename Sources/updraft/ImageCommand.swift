import ArgumentParser
import Foundation
import GuestImage
import Logging

/// `updraft image ...`: guest images Updraft builds for itself.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Build Updraft's own guest images.", subcommands: [Build.self])

    /// `updraft image build tiny`: prints the disk, kernel, ramdisk and manifest paths, one per line.
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a guest image from Debian packages, or print the cached one's paths.",
            discussion: """
                Prints the paths of the qcow2 disk, the kernel, the initramfs and the manifest (tiny.json).
                Needs apt, dpkg, kmod, gzip, dosfstools, mtools, syslinux, syslinux-common, fdisk, qemu-utils.
                """)

        @Argument(help: "The recipe to build; only `tiny` exists.")
        var recipe: String

        @Option(help: "Cache directory (default: $XDG_CACHE_HOME/updraft/images or ~/.cache/updraft/images).")
        var cacheDir: String?

        @Option(help: "Scratch directory, emptied first (default: <cache dir>/work).")
        var workDir: String?

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
            guard recipe == GuestImage.recipe else {
                FileHandle.standardError.write(Data("updraft: unknown recipe \(recipe); the only one is tiny\n".utf8))
                throw ExitCode(1)
            }
            let environment = ProcessInfo.processInfo.environment
            let cache = absolute(cacheDir ?? GuestImage.defaultCacheDirectory(environment: environment))
            var configuration = GuestImage.Builder.Configuration(cacheDirectory: cache, workDirectory: workDir.map(absolute))
            configuration.removeWorkDirectory = !keepWorkDir
            do {
                let artifacts = try await GuestImage.Builder(configuration: configuration, logger: logger).build(force: force)
                for url in [artifacts.disk, artifacts.kernel, artifacts.ramdisk, artifacts.manifestFile] {
                    print(url.path)
                }
            } catch {
                FileHandle.standardError.write(Data("updraft: \(oneLine(error))\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

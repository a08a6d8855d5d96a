import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension GuestImage {
    /// Builds a library image from a ``LibraryRecipe``: `mmdebstrap` installs the packages into
    /// a directory (from a package cache kept between builds), the recipe's files go in, every
    /// timestamp is clamped to the kernel's, and the disk is an MBR with SYSLINUX, a FAT boot
    /// partition (kernel and initramfs under fixed names, refreshed by a kernel hook in the
    /// guest) and an ext4 root made by `mkfs.ext4 -d`, last so cloud-init's growpart can grow
    /// it. Nothing is mounted; only mmdebstrap needs root.
    public struct LibraryBuilder: Sendable {
        public struct Configuration: Sendable {
            /// Holds `NAME.qcow2`, `NAME.json` and the package cache (`library-debs/`).
            public var cacheDirectory: URL
            /// Scratch space, emptied at the start of each build.
            public var workDirectory: URL
            public var removeWorkDirectory = true
            /// The Debian mirror packages come from; security updates from its `-security` twin.
            public var mirror = "http://deb.debian.org/debian"

            public init(cacheDirectory: String, workDirectory: String? = nil) {
                self.cacheDirectory = URL(fileURLWithPath: cacheDirectory, isDirectory: true)
                self.workDirectory = URL(fileURLWithPath: workDirectory ?? cacheDirectory + "/work", isDirectory: true)
            }
        }

        public let configuration: Configuration
        let logger: Logger

        public init(configuration: Configuration, logger: Logger) {
            self.configuration = configuration
            self.logger = logger
        }

        /// The disk signature: partitions are `PARTUUID=55504454-01` (boot) and `-02` (root).
        static let diskID: UInt32 = 0x5550_4454
        static let diskIDHex = "55504454"
        /// The boot partition's size; the root partition takes the rest of the disk.
        static let bootMiB = 128
        static let kernelCommandLine =
            "root=PARTUUID=\(diskIDHex)-02 ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0"
        /// The root filesystem's UUID, fixed so two builds are identical.
        static let rootUUID = "55504454-0000-4000-8000-000000000002"
        /// `SOURCE_DATE_EPOCH` while packages install and units are enabled: a fixed time (Debian
        /// 12.0's release), so what maintainer scripts stamp (the initramfs, shadow's dates,
        /// Python's byte code) is the same in every build, and mmdebstrap removes what it knows
        /// to differ. The disk's times are clamped to the kernel's afterwards.
        static let installEpoch = 1_686_355_200

        /// The guest's hook after a kernel or initramfs install: the newest pair goes to the
        /// boot partition under the names SYSLINUX boots.
        static let bootCopyHook = """
            #!/bin/sh
            # Updraft's images boot /boot/firmware/vmlinuz and initrd.img through SYSLINUX:
            # copy the newest kernel and initramfs there after each install.
            set -e
            mountpoint -q /boot/firmware || exit 0
            version=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)
            [ -n "$version" ] && [ -f "/boot/initrd.img-$version" ] || exit 0
            for pair in "vmlinuz-$version vmlinuz" "initrd.img-$version initrd.img"; do
                set -- $pair
                cp "/boot/$1" "/boot/firmware/$2.new"
                mv "/boot/firmware/$2.new" "/boot/firmware/$2"
            done
            sync

            """

        /// The cached image of `recipe`, or a new build of it.
        public func build(_ recipe: LibraryRecipe, force: Bool = false) async throws -> LibraryImage {
            let cache = configuration.cacheDirectory
            if !force, let image = LibraryImage.cached(recipe, cacheDirectory: cache.path) {
                logger.info("cached", metadata: ["disk": "\(image.disk.path)"])
                return image
            }
            let started = ContinuousClock.now
            let tools = try Tools.locate()
            let files = FileManager.default
            let work = configuration.workDirectory
            try? files.removeItem(at: work)
            try files.createDirectory(at: work, withIntermediateDirectories: true)
            let debs = cache.appendingPathComponent("library-debs")
            try files.createDirectory(at: debs, withIntermediateDirectories: true)
            try? files.removeItem(at: cache.appendingPathComponent(recipe.name + ".json"))

            let root = work.appendingPathComponent("root")
            try await install(recipe, into: root, debs: debs, tools)
            try await customize(root, recipe, tools)
            let kernel = try kernelFiles(in: root)
            let epoch = try Builder.modificationTime(of: kernel.image)
            try Self.clampTimes(under: root, to: epoch)
            let packages = try await installedPackages(root, tools)
            logger.info("installed", metadata: ["packages": "\(packages.count)", "kernel": "\(kernel.release)"])

            let disk = work.appendingPathComponent(recipe.name + ".qcow2")
            try await writeDisk(root: root, kernel: kernel, diskGiB: recipe.diskGiB, to: disk, work: work, tools, epoch: epoch)
            let file = try await Builder.describe(disk, format: "qcow2", sha256sum: tools.sha256sum)
            let target = cache.appendingPathComponent(disk.lastPathComponent)
            try? files.removeItem(at: target)
            try files.moveItem(at: disk, to: target)
            let manifest = LibraryImage.Manifest(
                recipe: recipe.name, recipeVersion: recipe.version, definition: recipe, description: recipe.description,
                properties: recipe.properties, minDisk: recipe.diskGiB, minRAM: recipe.minRAMMiB,
                kernelRelease: kernel.release, kernelCommandLine: Self.kernelCommandLine, sourceDateEpoch: epoch,
                packages: packages, buildSeconds: Self.seconds(ContinuousClock.now - started), file: file)
            let image = LibraryImage(directory: cache, manifest: manifest)
            try manifest.encoded().write(to: image.manifestFile, options: .atomic)
            if configuration.removeWorkDirectory { try? files.removeItem(at: work) }
            logger.info("built", metadata: ["disk": "\(image.disk.path)", "seconds": "\(manifest.buildSeconds)"])
            return image
        }

        // MARK: Steps

        /// `mmdebstrap` into `root`, with `.deb` files kept in `debs` between builds.
        func install(_ recipe: LibraryRecipe, into root: URL, debs: URL, _ tools: Tools) async throws {
            let mirror = configuration.mirror
            let security =
                mirror.hasSuffix("/debian") ? String(mirror.dropLast("/debian".count)) + "/debian-security" : mirror
            try await tools.mmdebstrap.run(
                [
                    "--mode=root", "--variant=apt", "--format=directory", "--include=" + recipe.packages.joined(separator: ","),
                    "--aptopt=Acquire::Retries \"3\"", "--skip=essential/unlink",
                    "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
                    "--setup-hook=sync-in \(debs.path) /var/cache/apt/archives/",
                    "--customize-hook=sync-out /var/cache/apt/archives \(debs.path)",
                    // Not the build host's: cloud-init names the guest, DHCP (or the network
                    // configuration cloud-init writes) gives it its resolvers.
                    "--customize-hook=echo localhost > \"$1\"/etc/hostname",
                    "--customize-hook=rm -f \"$1\"/etc/resolv.conf",
                    "bookworm", root.path,
                    "deb \(mirror) bookworm main", "deb \(mirror) bookworm-updates main",
                    "deb \(security) bookworm-security main",
                ],
                environment: Program.environment(
                    sourceDateEpoch: Self.installEpoch, extra: ["DEBIAN_FRONTEND": "noninteractive"]),
                timeout: .seconds(3600))
        }

        /// The recipe's files and units, and nothing one instance must not share with another:
        /// SSH host keys, the machine id, logs, apt's lists.
        func customize(_ root: URL, _ recipe: LibraryRecipe, _ tools: Tools) async throws {
            let files = FileManager.default
            for (path, contents) in recipe.files.sorted(by: { $0.key < $1.key }) {
                let url = root.appendingPathComponent(String(path.drop { $0 == "/" }))
                try files.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(contents.utf8).write(to: url)
                chmod(url.path, contents.hasPrefix("#!") ? 0o755 : 0o644)
            }
            try files.createDirectory(
                at: root.appendingPathComponent("boot/firmware"), withIntermediateDirectories: true)
            let environment = Program.environment(sourceDateEpoch: Self.installEpoch)
            for unit in recipe.enable {
                try await tools.chroot.run([root.path, "systemctl", "enable", unit], environment: environment)
            }
            let sshKeys = root.appendingPathComponent("etc/ssh")
            for name in (try? files.contentsOfDirectory(atPath: sshKeys.path)) ?? [] where name.hasPrefix("ssh_host_") {
                try files.removeItem(at: sshKeys.appendingPathComponent(name))
            }
            try Data().write(to: root.appendingPathComponent("etc/machine-id"))
            try? files.removeItem(at: root.appendingPathComponent("var/lib/dbus/machine-id"))
            for directory in ["var/lib/apt/lists", "var/log", "var/cache/apt", "tmp", "var/tmp"] {
                try Self.empty(root.appendingPathComponent(directory), keepDirectories: directory == "var/log")
            }
        }

        /// Removes what `directory` holds; with `keepDirectories`, only the files (logs'
        /// directories belong to their packages).
        static func empty(_ directory: URL, keepDirectories: Bool) throws {
            let files = FileManager.default
            guard let enumerator = files.enumerator(atPath: directory.path) else { return }
            var doomed: [String] = []
            for case let relative as String in enumerator {
                let path = directory.path + "/" + relative
                var isDirectory: ObjCBool = false
                _ = files.fileExists(atPath: path, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    if !keepDirectories {
                        doomed.append(path)
                        enumerator.skipDescendants()
                    }
                } else {
                    doomed.append(path)
                }
            }
            for path in doomed { try files.removeItem(atPath: path) }
        }

        /// The newest kernel in `/boot` and its initramfs.
        func kernelFiles(in root: URL) throws -> (image: URL, ramdisk: URL, release: String) {
            let boot = root.appendingPathComponent("boot")
            let releases = ((try? FileManager.default.contentsOfDirectory(atPath: boot.path)) ?? [])
                .filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst("vmlinuz-".count)) }
                .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            guard let release = releases.last else {
                throw GuestImage.Error.package("the recipe installed no kernel (add linux-image-cloud-amd64)")
            }
            let ramdisk = boot.appendingPathComponent("initrd.img-" + release)
            guard FileManager.default.fileExists(atPath: ramdisk.path) else {
                throw GuestImage.Error.package("no initramfs for \(release) (is initramfs-tools installed?)")
            }
            return (boot.appendingPathComponent("vmlinuz-" + release), ramdisk, release)
        }

        /// Package name to version, read from the image's dpkg database.
        func installedPackages(_ root: URL, _ tools: Tools) async throws -> [String: String] {
            let output = try await tools.dpkgQuery.run(
                ["--admindir=" + root.path + "/var/lib/dpkg", "-W", "-f", "${Package}\t${Version}\n"],
                environment: Program.environment(sourceDateEpoch: nil))
            var packages: [String: String] = [:]
            for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: "\t", maxSplits: 1)
                if fields.count == 2 { packages[String(fields[0])] = String(fields[1]) }
            }
            return packages
        }

        /// `/` and every file, directory and link under `root`, as paths inside it (`/etc/hostname`).
        static func paths(under root: URL) -> [String] {
            var paths = ["/"]
            if let enumerator = FileManager.default.enumerator(atPath: root.path) {
                for case let relative as String in enumerator { paths.append("/" + relative) }
            }
            return paths
        }

        /// Every file, directory and link under `root` newer than `epoch` is set to it.
        static func clampTimes(under root: URL, to epoch: Int) throws {
            let stamp = [timespec(tv_sec: epoch, tv_nsec: 0), timespec(tv_sec: epoch, tv_nsec: 0)]
            for path in paths(under: root).map({ root.path + $0 }) {
                var info = stat()
                guard lstat(path, &info) == 0, info.st_mtim.tv_sec > epoch || info.st_atim.tv_sec > epoch else { continue }
                _ = stamp.withUnsafeBufferPointer { utimensat(AT_FDCWD, path, $0.baseAddress, AT_SYMLINK_NOFOLLOW) }
            }
        }

        static func seconds(_ duration: Duration) -> Double {
            ((Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) * 10).rounded() / 10
        }
    }
}

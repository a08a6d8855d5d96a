import Foundation

extension GuestImage.Builder {
    /// One downloaded Debian package.
    struct Package: Sendable {
        var name: String
        var version: String
        var file: URL
    }

    /// Downloads the kernel (the package `linux-image-amd64` depends on today) and the recipe's other
    /// packages into `directory`, which is emptied first so only this build's versions remain.
    func fetchPackages(_ tools: GuestImage.Toolbox, into directory: URL) async throws -> [Package] {
        let files = FileManager.default
        try? files.removeItem(at: directory)
        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        let meta = try await download([GuestImage.Recipe.kernelMetapackage], tools, into: directory)
        guard let metaPackage = meta.first else {
            throw GuestImage.Error.package("apt-get download \(GuestImage.Recipe.kernelMetapackage) fetched nothing")
        }
        let depends = try await field("Depends", of: metaPackage.file, tools)
        guard let kernelPackage = Self.kernelPackage(fromDepends: depends) else {
            throw GuestImage.Error.package("\(GuestImage.Recipe.kernelMetapackage) depends on no linux-image package: \(depends)")
        }
        try files.removeItem(at: metaPackage.file)
        logger.info("fetching", metadata: ["kernel": "\(kernelPackage)"])
        return try await download([kernelPackage] + GuestImage.Recipe.packages, tools, into: directory)
    }

    /// `linux-image-6.1.0-56-amd64` from `linux-image-6.1.0-56-amd64 (= 6.1.192-2)`.
    static func kernelPackage(fromDepends depends: String) -> String? {
        for alternative in depends.split(whereSeparator: { $0 == "," || $0 == "|" }) {
            let name = alternative.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
            if let name, name.hasPrefix("linux-image-") {
                return name
            }
        }
        return nil
    }

    /// Runs `apt-get download` and reads back each fetched file's package name and version.
    func download(_ names: [String], _ tools: GuestImage.Toolbox, into directory: URL) async throws -> [Package] {
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        do {
            try await tools.aptGet.run(
                ["-q", "-o", "APT::Sandbox::User=root", "download"] + names, in: directory,
                environment: GuestImage.Program.environment(sourceDateEpoch: nil, extra: ["DEBIAN_FRONTEND": "noninteractive"]))
        } catch GuestImage.Error.toolFailed(_, let status, let stderr) {
            let detail = stderr.split(whereSeparator: \.isNewline).last.map(String.init) ?? "status \(status)"
            throw GuestImage.Error.package("apt-get download \(names.joined(separator: " ")) failed: \(detail)")
        }
        let fetched = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".deb") && !before.contains($0) }.sorted()
        var packages: [Package] = []
        for name in fetched {
            let file = directory.appendingPathComponent(name)
            packages.append(
                Package(
                    name: try await field("Package", of: file, tools), version: try await field("Version", of: file, tools),
                    file: file))
        }
        return packages
    }

    /// One control field of a `.deb`.
    func field(_ name: String, of deb: URL, _ tools: GuestImage.Toolbox) async throws -> String {
        let output = try await tools.dpkgDeb.run(
            ["-f", deb.path, name], environment: GuestImage.Program.environment(sourceDateEpoch: nil))
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `dpkg-deb -x` of every package into one tree; nothing is installed on the host.
    func unpack(_ packages: [Package], into root: URL, _ tools: GuestImage.Toolbox) async throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for package in packages {
            try await tools.dpkgDeb.run(
                ["-x", package.file.path, root.path], environment: GuestImage.Program.environment(sourceDateEpoch: nil))
        }
    }

    /// The unpacked kernel: `boot/vmlinuz-<release>`.
    func kernelImage(in root: URL) throws -> (image: URL, release: String) {
        let boot = root.appendingPathComponent("boot")
        let names = try FileManager.default.contentsOfDirectory(atPath: boot.path).filter { $0.hasPrefix("vmlinuz-") }.sorted()
        guard let name = names.last else {
            throw GuestImage.Error.package("the kernel package holds no boot/vmlinuz-*")
        }
        return (boot.appendingPathComponent(name), String(name.dropFirst("vmlinuz-".count)))
    }
}

import Foundation

extension GuestImage.Builder {
    /// Stages the guest's whole root file system at `staged` and returns the module load order.
    func stageInitramfs(
        from root: URL, kernelRelease: String, at staged: URL, _ tools: GuestImage.Toolbox, epoch: Int
    ) async throws -> [String] {
        let files = FileManager.default
        let recipe = GuestImage.Recipe.self
        for directory in [
            "bin", "sbin", "usr/bin", "usr/sbin", "etc/init.d", "etc/updraft", "etc/dropbear", "etc/acpi/PWRF",
            "usr/share/udhcpc", "lib/x86_64-linux-gnu", "lib64", "dev", "proc", "sys", "run", "tmp", "mnt", "root",
            "home/updraft", "var/log",
        ] {
            try files.createDirectory(at: staged.appendingPathComponent(directory), withIntermediateDirectories: true)
        }

        try copy(root.appendingPathComponent("bin/busybox"), to: staged.appendingPathComponent("bin/busybox"))
        try files.createSymbolicLink(atPath: staged.appendingPathComponent("bin/sh").path, withDestinationPath: "busybox")
        try files.createSymbolicLink(atPath: staged.appendingPathComponent("init").path, withDestinationPath: "bin/busybox")
        for (source, target) in recipe.programs {
            try copy(root.appendingPathComponent(source), to: staged.appendingPathComponent(target))
        }
        for library in recipe.libraries {
            let found = recipe.libraryDirectories.map { root.appendingPathComponent($0 + "/" + library) }
                .first { files.fileExists(atPath: $0.path) }
            guard let found else {
                throw GuestImage.Error.package("no \(library) in the unpacked packages")
            }
            try copy(found.resolvingSymlinksInPath(), to: staged.appendingPathComponent("lib/x86_64-linux-gnu/" + library))
        }
        try files.createSymbolicLink(
            atPath: staged.appendingPathComponent("lib64/ld-linux-x86-64.so.2").path,
            withDestinationPath: "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")

        let order = try await stageModules(from: root, release: kernelRelease, at: staged, tools)

        let texts: [(String, String, Int)] = [
            ("etc/inittab", recipe.inittab, 0o644), ("etc/passwd", recipe.passwd, 0o644), ("etc/group", recipe.group, 0o644),
            ("etc/shells", recipe.shells, 0o644), ("etc/hosts", recipe.hosts, 0o644), ("etc/hostname", "updraft\n", 0o644),
            ("etc/updraft/modules", recipe.moduleList(order), 0o644),
            ("etc/updraft/release", "recipe=\(GuestImage.recipe) version=\(GuestImage.recipeVersion)\n", 0o644),
            ("etc/init.d/rcS", GuestImage.GuestScripts.rcS, 0o755),
            ("usr/share/udhcpc/default.script", GuestImage.GuestScripts.udhcpc, 0o755),
            ("etc/acpi/PWRF/00000080", GuestImage.GuestScripts.powerButton, 0o755),
            ("usr/bin/sudo", GuestImage.GuestScripts.sudo, 0o755),
        ]
        for (path, text, mode) in texts {
            let url = staged.appendingPathComponent(path)
            try Data(text.utf8).write(to: url)
            try files.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        }
        return order
    }

    /// Runs `depmod` on the unpacked kernel, copies the wanted modules and their dependencies, and
    /// runs `depmod` again on the staged tree so busybox `modprobe` works in the guest.
    func stageModules(from root: URL, release: String, at staged: URL, _ tools: GuestImage.Toolbox) async throws -> [String] {
        let environment = GuestImage.Program.environment(sourceDateEpoch: nil)
        try await tools.depmod.run(["-b", root.path, release], environment: environment)
        let source = root.appendingPathComponent("lib/modules/" + release)
        let modules = GuestImage.KernelModules(
            modulesDep: try String(contentsOf: source.appendingPathComponent("modules.dep"), encoding: .utf8),
            modulesBuiltin: try String(contentsOf: source.appendingPathComponent("modules.builtin"), encoding: .utf8))
        let order = try modules.loadOrder(GuestImage.Recipe.modules)
        let target = staged.appendingPathComponent("lib/modules/" + release)
        for name in ["modules.builtin", "modules.builtin.modinfo", "modules.order"] {
            try copy(source.appendingPathComponent(name), to: target.appendingPathComponent(name))
        }
        for module in order {
            guard let path = modules.paths[module] else { continue }
            try copy(source.appendingPathComponent(path), to: target.appendingPathComponent(path))
        }
        try await tools.depmod.run(["-b", staged.path, release], environment: environment)
        return order
    }

    /// Writes the staged tree as a sorted newc cpio, every entry owned by root with mtime `epoch`,
    /// compressed with `gzip -n` (no name, no timestamp).
    func writeRamdisk(from staged: URL, to output: URL, _ tools: GuestImage.Toolbox, epoch: Int) async throws {
        var entries = try Self.entries(under: staged, modes: ["root": 0o700, "tmp": 0o1777])
        // The kernel opens /dev/console before /init runs; it must exist in the archive.
        entries.append(.init(path: "dev/console", mode: 0o600, kind: .characterDevice(major: 5, minor: 1)))
        let cpio = GuestImage.Cpio.archive(entries, mtime: epoch)
        try await tools.gzip.run(
            ["-n", "-9", "-c"], environment: GuestImage.Program.environment(sourceDateEpoch: epoch), input: cpio, output: output)
    }

    /// Every directory, file and symlink below `directory`. Modes do not depend on the umask:
    /// directories 0755 unless `modes` says otherwise, files 0755 when executable, else 0644.
    static func entries(under directory: URL, modes: [String: UInt32]) throws -> [GuestImage.Cpio.Entry] {
        let files = FileManager.default
        var entries: [GuestImage.Cpio.Entry] = []
        func walk(_ relative: String) throws {
            let url = relative.isEmpty ? directory : directory.appendingPathComponent(relative)
            for name in try files.contentsOfDirectory(atPath: url.path).sorted() {
                let path = relative.isEmpty ? name : relative + "/" + name
                let full = directory.appendingPathComponent(path).path
                let attributes = try files.attributesOfItem(atPath: full)
                let staged = (attributes[.posixPermissions] as? NSNumber)?.uint32Value ?? 0o644
                let mode = modes[path] ?? (staged & 0o100 != 0 ? 0o755 : 0o644)
                switch attributes[.type] as? FileAttributeType {
                case .typeDirectory?:
                    entries.append(.init(path: path, mode: mode, kind: .directory))
                    try walk(path)
                case .typeSymbolicLink?:
                    let target = try files.destinationOfSymbolicLink(atPath: full)
                    entries.append(.init(path: path, mode: 0o777, kind: .symlink(target: target)))
                default:
                    entries.append(.init(path: path, mode: mode, kind: .file(try Data(contentsOf: URL(fileURLWithPath: full)))))
                }
            }
        }
        try walk("")
        return entries
    }

    /// Copies one file, creating parent directories and keeping its permissions.
    func copy(_ source: URL, to target: URL) throws {
        let files = FileManager.default
        guard files.fileExists(atPath: source.path) else {
            throw GuestImage.Error.package("no \(source.path) in the unpacked packages")
        }
        try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try files.copyItem(at: source, to: target)
    }
}

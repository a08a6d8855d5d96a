extension GuestImage {
    /// What `depmod` wrote in `modules.dep`, and the load order of the modules the guest needs.
    struct KernelModules: Equatable {
        /// Module name (underscores) to its path relative to `/lib/modules/<release>`.
        var paths: [String: String] = [:]
        /// Module name to the names of every module it needs, as `depmod` lists them.
        var dependencies: [String: [String]] = [:]
        /// Names of modules built into the kernel (`modules.builtin`).
        var builtin: Set<String> = []

        /// `virtio-rng`, `kernel/drivers/char/hw_random/virtio-rng.ko` and `virtio_rng` are one module.
        static func name(_ pathOrName: String) -> String {
            var base = Substring(pathOrName.split(separator: "/").last ?? "")
            for suffix in [".xz", ".zst", ".gz", ".ko"] where base.hasSuffix(suffix) {
                base = base.dropLast(suffix.count)
            }
            return base.replacingOccurrences(of: "-", with: "_")
        }

        /// Parses `modules.dep` (`path: dependency-path ...` per line) and `modules.builtin`.
        init(modulesDep: String, modulesBuiltin: String) {
            for line in modulesDep.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard let path = parts.first.map(String.init), !path.isEmpty else { continue }
                let module = Self.name(path)
                paths[module] = path
                dependencies[module] = (parts.count > 1 ? parts[1] : "").split(separator: " ").map { Self.name(String($0)) }
            }
            builtin = Set(modulesBuiltin.split(whereSeparator: \.isNewline).map { Self.name(String($0)) })
        }

        /// The modules to load for `wanted`, each after everything it needs; built-in ones are left out.
        ///
        /// - Throws: ``GuestImage/Error/missingModule(_:)`` for a name that is neither built in nor a module.
        func loadOrder(_ wanted: [String]) throws -> [String] {
            var order: [String] = []
            var seen: Set<String> = []
            func visit(_ module: String) throws {
                guard !seen.contains(module) else { return }
                seen.insert(module)
                guard let needs = dependencies[module] else {
                    if builtin.contains(module) { return }
                    throw GuestImage.Error.missingModule(module)
                }
                // depmod lists a module's needs with the deepest last, so visit them from the end.
                for dependency in needs.reversed() {
                    try visit(dependency)
                }
                order.append(module)
            }
            for module in wanted {
                try visit(Self.name(module))
            }
            return order
        }
    }
}

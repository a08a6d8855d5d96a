extension QEMU {
    /// Builds config drives: ISO 9660 volumes labelled `config-2` that cloud-init reads as
    /// OpenStack's config drive. The caller writes the directory tree
    /// (`openstack/latest/meta_data.json`, ...); this only packs it.
    public struct ConfigDrive: Sendable {
        /// The validated path of `genisoimage`.
        public let binary: String

        /// Finds `genisoimage` (a bare name is looked up in ``HostProcess/defaultSearchPath``).
        public init(binary: String = "genisoimage") throws {
            self.binary = try QEMU.locateBinary(binary)
        }

        /// Packs `directory` into the ISO image `path`, with the options Nova passes.
        public func build(from directory: String, to path: String) async throws {
            try await QEMU.runChecked(
                binary,
                [
                    "-o", path, "-ldots", "-allow-lowercase", "-allow-multidot", "-l", "-publisher", "updraft",
                    "-quiet", "-J", "-r", "-V", "config-2", directory,
                ])
        }
    }
}

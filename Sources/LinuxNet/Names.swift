extension LinuxNet {
    /// The names of what Updraft makes, derived from resource ids. Interface names fit Linux's
    /// 15 bytes: a four-letter kind and the first 11 hex digits of the id, as Neutron's
    /// `tapXXXXXXXX-XX` do. Everything starts with ``prefix``.
    public enum Names {
        /// The first letters of every interface and namespace Updraft makes.
        public static let prefix = "upd"

        /// A network's bridge: `updb1a2b3c4d5e6`.
        public static func bridge(network id: String) -> String { interface("updb", id) }
        /// A VM port's tap, which QEMU opens: `updt…`.
        public static func tap(port id: String) -> String { interface("updt", id) }
        /// The bridge end of a veth pair whose other end is in a namespace: `upde…`.
        public static func bridgeEnd(port id: String) -> String { interface("upde", id) }
        /// The namespace end of that pair: `updn…`.
        public static func namespaceEnd(port id: String) -> String { interface("updn", id) }

        /// A tenant network's namespace: its bridge, its VMs' taps, its DHCP server and metadata address.
        public static func networkNamespace(network id: String) -> String { "updraft-net-" + id }
        /// A router's namespace, which forwards between its networks and NATs to the external one.
        public static func routerNamespace(router id: String) -> String { "updraft-router-" + id }

        /// Whether an interface or namespace is one Updraft made.
        public static func isOurs(_ name: String) -> Bool {
            name.hasPrefix("updb") || name.hasPrefix("updt") || name.hasPrefix("upde") || name.hasPrefix("updn")
                || name.hasPrefix("updraft-")
        }

        static func interface(_ kind: String, _ id: String) -> String {
            kind + String(id.lowercased().filter(\.isHexDigit).prefix(11))
        }
    }
}

extension LinuxNet {
    /// nftables, through `nft`. Updraft owns whole tables (named with its prefix) and
    /// replaces a table in one transaction, so a rule change is atomic and never touches the
    /// host's own tables.
    public enum NFTables {
        /// Replaces table `family name` (in `namespace`, or the host) with `body` in one `nft -f`
        /// transaction: packets see either the old rules or the new, never none.
        public static func replaceTable(_ family: String, _ name: String, body: String, in namespace: String? = nil)
            async throws
        {
            try checkTable(name)
            let script = """
                table \(family) \(name)
                delete table \(family) \(name)
                table \(family) \(name) {
                \(body)
                }

                """
            try await run("nft", ["-f", "-"], in: namespace, input: script)
        }

        /// Removes table `family name`; a table that is gone is fine.
        public static func deleteTable(_ family: String, _ name: String, in namespace: String? = nil) async throws {
            try checkTable(name)
            try await ignoring("No such file") {
                try await run("nft", ["delete", "table", family, name], in: namespace)
            }
        }

        /// The tables in the host (or `namespace`) as `family name`.
        public static func tables(in namespace: String? = nil) async throws -> [String] {
            try await run("nft", ["list", "tables"], in: namespace).split(separator: "\n").compactMap { line in
                let words = line.split(separator: " ")
                guard words.count == 3, words[0] == "table" else { return nil }
                return "\(words[1]) \(words[2])"
            }
        }

        static func checkTable(_ name: String) throws {
            guard name.hasPrefix("updraft"), name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw Error.invalidName(name)
            }
        }
    }
}

import UpdraftAccounting

/// Each allocation's figures in the Prometheus text format, appended to `/metrics` at every
/// scrape from the live ledger: no series outlives its allocation.
enum AccountingMetrics {
    static func exposition(_ statements: [Statement]) -> String {
        guard !statements.isEmpty else { return "" }
        let families: [(name: String, help: String, value: (Statement) -> Double)] = [
            ("updraft_allocation_award", "Service units (GB for storage) awarded to the allocation.", { $0.allocation.award }),
            ("updraft_allocation_used", "Service units charged to the allocation inside its dates.", { $0.used }),
            ("updraft_allocation_balance", "Service units left on the allocation.", { $0.balance }),
            ("updraft_allocation_burn_rate", "Service units per hour the allocation's instances burn now.", { $0.burnRate }),
        ]
        var text = ""
        for family in families {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n"
            for statement in statements {
                let a = statement.allocation
                text +=
                    "\(family.name){allocation=\"\(escape(a.name))\",project_id=\"\(escape(a.projectID))\","
                    + "resource=\"\(a.resource.rawValue)\",status=\"\(statement.status.rawValue)\"} \(family.value(statement))\n"
            }
        }
        return text
    }

    /// A label value as the text format wants it: backslash, quote and newline escaped.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

import ArgumentParser
import Foundation
import UpdraftCore

extension Admin {
    /// The funder's figures of a running cloud, asked of its accounting API with the data
    /// directory's admin credentials.
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print what the facility reports to its funder for a period: projects, active users, fields of "
                + "science, institutions, mean and peak active VMs, CPU hours and SUs by class and tier, education "
                + "projects and their students.")

        @Option(help: "The cloud's data directory (its admin-openrc.sh names the cloud and the admin).")
        var dataDir: String = "./updraft-data"

        @Option(help: "Start of the period (ISO 8601 date or time; default: 30 days before --until).")
        var since: String?

        @Option(help: "End of the period (default: now).")
        var until: String?

        @Flag(help: "Print the API's JSON as it came.")
        var json = false

        func run() async throws {
            do {
                let body = try await fetch()
                if json {
                    print(String(decoding: body, as: UTF8.self))
                    return
                }
                guard case .object(let root) = try JSONValue.parse(body), case .object(let report)? = root["report"] else {
                    throw UpdraftError.internal("the cloud's answer has no report")
                }
                print(Self.text(report))
            } catch {
                FileHandle.standardError.write(Data("updraft: \(oneLine(error))\n".utf8))
                throw ExitCode(1)
            }
        }

        /// Authenticates as the admin of `admin-openrc.sh` and reads `GET /accounting/v1/report`.
        func fetch() async throws -> Data {
            let session = try await AdminSession.login(dataDirectory: absolute(dataDir))
            var query: [String] = []
            if let since {
                query.append("since=" + (since.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? since))
            }
            if let until {
                query.append("until=" + (until.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? until))
            }
            let path = "/accounting/v1/report" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            return try await session.send(try session.request("GET", path), expecting: 200, "the report")
        }

        /// The report as lines an operator reads.
        static func text(_ report: [String: JSONValue]) -> String {
            func number(_ key: String) -> String {
                switch report[key] {
                case .integer(let n)?: return String(n)
                case .number(let n)?: return String(format: "%.1f", n)
                default: return "0"
                }
            }
            func table(_ key: String) -> String {
                guard case .object(let fields)? = report[key], !fields.isEmpty else { return "none" }
                return fields.sorted { $0.key < $1.key }.map { key, value in
                    switch value {
                    case .integer(let n): "\(key) \(n)"
                    case .number(let n): "\(key) \(String(format: "%.1f", n))"
                    default: "\(key) \(value.jsonText)"
                    }
                }.joined(separator: ", ")
            }
            var students = "none"
            if case .array(let projects)? = report["education_projects"], !projects.isEmpty {
                students = projects.compactMap { project -> String? in
                    guard case .object(let p) = project, case .string(let name)? = p["name"],
                        case .integer(let count)? = p["students"]
                    else { return nil }
                    return "\(name) (\(count) students)"
                }.joined(separator: ", ")
            }
            let since = report["since"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? ""
            let until = report["until"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? ""
            return """
                Period:              \(since) to \(until)
                Projects:            \(number("active_projects")) active of \(number("projects"))
                Active users:        \(number("active_users"))
                Fields of science:   \(table("fields_of_science"))
                Institutions:        \(table("institutions"))
                Active VMs:          \(number("mean_active_vms")) mean, \(number("peak_active_vms")) peak
                CPU hours by class:  \(table("cpu_hours_by_class"))
                SUs by class:        \(table("sus_by_class"))
                SUs by tier:         \(table("sus_by_tier"))
                Education projects:  \(students)
                """
        }
    }
}

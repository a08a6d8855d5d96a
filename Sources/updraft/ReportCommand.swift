import ArgumentParser
import Foundation
import UpdraftCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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
            let rc = absolute(dataDir) + "/admin-openrc.sh"
            guard let text = try? String(contentsOfFile: rc, encoding: .utf8) else {
                throw UpdraftError.badRequest("no \(rc): is \(dataDir) a cloud's data directory?")
            }
            var env: [String: String] = [:]
            for line in text.split(separator: "\n") where line.hasPrefix("export ") {
                let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                env[String(pair[0])] = String(pair[1]).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
            }
            guard let authURL = env["OS_AUTH_URL"], let user = env["OS_USERNAME"], let password = env["OS_PASSWORD"],
                let project = env["OS_PROJECT_NAME"], let base = authURL.components(separatedBy: "/identity").first
            else { throw UpdraftError.badRequest("\(rc) lacks the admin's credentials") }
            let auth = JSONValue.object([
                "auth": .object([
                    "identity": .object([
                        "methods": .array([.string("password")]),
                        "password": .object([
                            "user": .object([
                                "name": .string(user), "password": .string(password),
                                "domain": .object(["name": .string(env["OS_USER_DOMAIN_NAME"] ?? "Default")]),
                            ])
                        ]),
                    ]),
                    "scope": .object([
                        "project": .object([
                            "name": .string(project),
                            "domain": .object(["name": .string(env["OS_PROJECT_DOMAIN_NAME"] ?? "Default")]),
                        ])
                    ]),
                ])
            ])
            var tokenRequest = URLRequest(url: try Self.url(base + "/identity/v3/auth/tokens?nocatalog"))
            tokenRequest.httpMethod = "POST"
            tokenRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
            tokenRequest.httpBody = Data(auth.serialized())
            let (_, tokenResponse) = try await URLSession.shared.data(for: tokenRequest)
            guard let http = tokenResponse as? HTTPURLResponse, http.statusCode == 201,
                let token = http.value(forHTTPHeaderField: "X-Subject-Token")
            else { throw UpdraftError.unauthorized("the cloud at \(base) refused the admin's credentials") }
            var query: [String] = []
            if let since {
                query.append("since=" + (since.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? since))
            }
            if let until {
                query.append("until=" + (until.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? until))
            }
            var request = URLRequest(
                url: try Self.url(base + "/accounting/v1/report" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))))
            request.setValue(token, forHTTPHeaderField: "X-Auth-Token")
            let (body, response) = try await URLSession.shared.data(for: request)
            guard let answer = response as? HTTPURLResponse, answer.statusCode == 200 else {
                throw UpdraftError.badRequest(
                    "the report was refused: " + String(decoding: body, as: UTF8.self).prefix(500))
            }
            return body
        }

        static func url(_ text: String) throws -> URL {
            guard let url = URL(string: text) else { throw UpdraftError.badRequest("not a URL: \(text)") }
            return url
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

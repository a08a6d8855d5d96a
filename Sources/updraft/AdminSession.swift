import Foundation
import UpdraftCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The admin of a running cloud, logged in with its data directory's `admin-openrc.sh`: what
/// the operator commands that ask the cloud (`admin report`, `image publish`) talk through.
struct AdminSession {
    /// `http://127.0.0.1:5000`: the cloud's base URL, the services below it.
    let base: String
    let token: String

    /// Logs in as the admin of `admin-openrc.sh` in `dataDirectory`.
    static func login(dataDirectory: String) async throws -> AdminSession {
        let rc = dataDirectory + "/admin-openrc.sh"
        guard let text = try? String(contentsOfFile: rc, encoding: .utf8) else {
            throw UpdraftError.badRequest("no \(rc): is \(dataDirectory) a cloud's data directory?")
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
        var request = URLRequest(url: try url(base + "/identity/v3/auth/tokens?nocatalog"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(auth.serialized())
        let (_, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse, http.statusCode == 201,
            let token = http.value(forHTTPHeaderField: "X-Subject-Token")
        else { throw UpdraftError.unauthorized("the cloud at \(base) refused the admin's credentials") }
        return AdminSession(base: base, token: token)
    }

    /// A request to `path` below the base, with the token.
    func request(_ method: String, _ path: String, json: JSONValue? = nil, contentType: String = "application/json")
        throws -> URLRequest
    {
        var request = URLRequest(url: try Self.url(base + path))
        request.httpMethod = method
        request.setValue(token, forHTTPHeaderField: "X-Auth-Token")
        if let json {
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.serialized())
        }
        return request
    }

    /// Sends `request` and returns the body when the status is `expected`; otherwise throws
    /// `what` with the cloud's answer.
    func send(_ request: URLRequest, expecting expected: Int, _ what: String) async throws -> Data {
        let (body, response) = try await URLSession.shared.data(for: request)
        try Self.check(response, body, expected, what)
        return body
    }

    static func check(_ response: URLResponse, _ body: Data, _ expected: Int, _ what: String) throws {
        guard let http = response as? HTTPURLResponse, http.statusCode == expected else {
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            throw UpdraftError.badRequest(
                "\(what) was refused (\(status)): " + String(decoding: body, as: UTF8.self).prefix(500))
        }
    }

    static func url(_ text: String) throws -> URL {
        guard let url = URL(string: text) else { throw UpdraftError.badRequest("not a URL: \(text)") }
        return url
    }
}

import Foundation
import UpdraftCore

/// `admin-openrc.sh` and `clouds.yaml` in the data directory, mode 0600.
enum ClientFiles {
    static func write(directory: String, authURL: String, password: String, region: String) throws {
        let openrc = """
            # Updraft cloud administrator. Source this file: . \(directory)/admin-openrc.sh
            export OS_AUTH_URL=\(authURL)
            export OS_IDENTITY_API_VERSION=3
            export OS_USERNAME=admin
            export OS_PASSWORD='\(password)'
            export OS_PROJECT_NAME=admin
            export OS_USER_DOMAIN_NAME=Default
            export OS_PROJECT_DOMAIN_NAME=Default
            export OS_REGION_NAME=\(region)
            export OS_INTERFACE=public

            """
        let clouds = """
            clouds:
              updraft:
                auth:
                  auth_url: \(authURL)
                  username: admin
                  password: '\(password)'
                  project_name: admin
                  user_domain_name: Default
                  project_domain_name: Default
                region_name: \(region)
                interface: public
                identity_api_version: 3

            """
        try save(openrc, to: directory + "/admin-openrc.sh")
        try save(clouds, to: directory + "/clouds.yaml")
    }

    /// The admin password recorded by an earlier start, so the files can be rewritten when the URL changes.
    static func recordedPassword(directory: String) -> String? {
        guard let text = try? String(contentsOfFile: directory + "/admin-openrc.sh", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("export OS_PASSWORD=") {
            return String(line.dropFirst("export OS_PASSWORD=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        return nil
    }

    private static func save(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw UpdraftError.internal("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else { throw UpdraftError.internal("cannot write \(path): errno \(errno)") }
    }
}

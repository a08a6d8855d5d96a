import Foundation

extension CodingUserInfoKey {
    /// Where a response's resource links start (`http://host:port/identity`), handed to
    /// Codable bodies by the HTTP edge's responder.
    public static let linkBase: CodingUserInfoKey = {
        guard let key = CodingUserInfoKey(rawValue: "updraft.link-base") else { preconditionFailure("invalid user info key") }
        return key
    }()
}

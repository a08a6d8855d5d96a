import HTTPTypes

/// Every header name Updraft reads or writes beyond HTTPTypes' own, in one table.
extension HTTPField.Name {
    static let authToken = known("X-Auth-Token")
    static let subjectToken = known("X-Subject-Token")
    static let requestID = known("x-openstack-request-id")
    /// Nova sends the request id under this name too; tempest reads it.
    static let computeRequestID = known("x-compute-request-id")
    static let wwwAuthenticate = known("WWW-Authenticate")
    static let openStackAPIVersion = known("OpenStack-API-Version")
    static let novaAPIVersion = known("X-OpenStack-Nova-API-Version")
    static let contentMD5 = known("Content-MD5")

    /// A header name written in this source, so always valid.
    private static func known(_ name: String) -> HTTPField.Name {
        guard let field = HTTPField.Name(name) else { preconditionFailure("invalid header name \(name)") }
        return field
    }
}

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
    /// Swift's request id; tempest checks it on every object storage answer.
    static let transID = known("X-Trans-Id")
    static let xTimestamp = known("X-Timestamp")
    static let destination = known("Destination")
    static let destinationAccount = known("Destination-Account")
    static let copyFrom = known("X-Copy-From")
    static let webMode = known("X-Web-Mode")
    static let copyFromAccount = known("X-Copy-From-Account")
    static let copiedFrom = known("X-Copied-From")
    static let copiedFromAccount = known("X-Copied-From-Account")
    static let copiedFromLastModified = known("X-Copied-From-Last-Modified")
    static let freshMetadata = known("X-Fresh-Metadata")
    static let objectManifest = known("X-Object-Manifest")
    static let staticLargeObject = known("X-Static-Large-Object")
    static let deleteAt = known("X-Delete-At")
    static let deleteAfter = known("X-Delete-After")
    static let removeDeleteAt = known("X-Remove-Delete-At")
    static let containerRead = known("X-Container-Read")
    static let containerWrite = known("X-Container-Write")
    static let removeContainerRead = known("X-Remove-Container-Read")
    static let removeContainerWrite = known("X-Remove-Container-Write")
    static let versionsLocation = known("X-Versions-Location")
    static let historyLocation = known("X-History-Location")
    static let removeVersionsLocation = known("X-Remove-Versions-Location")
    static let removeHistoryLocation = known("X-Remove-History-Location")
    static let storagePolicy = known("X-Storage-Policy")
    static let detectContentType = known("X-Detect-Content-Type")
    static let amzACL = known("x-amz-acl")
    static let amzCopySource = known("x-amz-copy-source")
    static let amzCopySourceRange = known("x-amz-copy-source-range")
    static let amzMetadataDirective = known("x-amz-metadata-directive")
    static let amzDecodedContentLength = known("x-amz-decoded-content-length")

    /// A header name written in this source, so always valid.
    static func known(_ name: String) -> HTTPField.Name {
        guard let field = HTTPField.Name(name) else { preconditionFailure("invalid header name \(name)") }
        return field
    }
}

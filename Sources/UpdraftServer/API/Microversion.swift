import Foundation
import HTTPTypes
import Hummingbird
import UpdraftCore

/// An API microversion such as compute 2.49 or volume 3.60, negotiated from
/// `OpenStack-API-Version: <service> X` (or compute's `X-OpenStack-Nova-API-Version: X`).
struct Microversion: Comparable, Sendable, CustomStringConvertible {
    /// One service's versions: its name in the header, and the range Updraft implements.
    struct Scheme: Sendable {
        /// `compute`, `volume`.
        var service: String
        var minimum: Microversion
        var maximum: Microversion
        /// The service's older header, if it has one.
        var legacyHeader: HTTPField.Name?
    }

    /// Nova's: 2.1 to the highest whose behaviour Updraft implements.
    static let compute = Scheme(
        service: "compute", minimum: Microversion(major: 2, minor: 1), maximum: Microversion(major: 2, minor: 49),
        legacyHeader: .novaAPIVersion)
    /// Cinder's v3: 3.0 to what openstacksdk and openstackclient negotiate.
    static let volume = Scheme(
        service: "volume", minimum: Microversion(major: 3, minor: 0), maximum: Microversion(major: 3, minor: 71),
        legacyHeader: nil)

    var major: Int
    var minor: Int

    static let minimum = compute.minimum
    static let maximum = compute.maximum

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    var description: String { "\(major).\(minor)" }

    static func < (a: Microversion, b: Microversion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

    /// At least `<major>.<minor>` of this version's own major.
    func atLeast(_ minor: Int) -> Bool { self >= Microversion(major: major, minor: minor) }

    /// The version a request asks for: the minimum when it names none, the maximum for
    /// `latest`; a failure when it names one outside the supported range (answered 406).
    static func requested(by request: Request, _ scheme: Scheme = compute) -> Result<Microversion, UpdraftError> {
        var asked: String?
        if let header = request.headers[.openStackAPIVersion] {
            for item in header.split(separator: ",") {
                let words = item.split(separator: " ", omittingEmptySubsequences: true)
                if words.count == 2, words[0].lowercased() == scheme.service { asked = String(words[1]) }
            }
        }
        if asked == nil, let legacy = scheme.legacyHeader { asked = request.headers[legacy] }
        guard let asked else { return .success(scheme.minimum) }
        if asked.lowercased() == "latest" { return .success(scheme.maximum) }
        guard let version = Microversion(asked) else {
            return .failure(.badRequest("Invalid API version request: \(asked)"))
        }
        guard version >= scheme.minimum && version <= scheme.maximum else {
            return .failure(
                UpdraftError(
                    .badRequest,
                    "Version \(asked) is not supported by the API. Minimum is \(scheme.minimum) and maximum is \(scheme.maximum)."
                ))
        }
        return .success(version)
    }

    /// The headers that stamp the negotiated compute version on every answer, as Nova does.
    var headers: HTTPFields {
        [
            .openStackAPIVersion: "compute \(self)", .novaAPIVersion: description,
            .vary: "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
        ]
    }

    /// The headers that stamp a negotiated volume version, as Cinder does.
    var volumeHeaders: HTTPFields {
        [.openStackAPIVersion: "volume \(self)", .vary: "OpenStack-API-Version"]
    }
}

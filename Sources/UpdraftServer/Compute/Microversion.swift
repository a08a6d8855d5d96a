import Foundation
import HTTPTypes
import Hummingbird
import UpdraftCore

/// A compute API microversion such as 2.47, negotiated from `OpenStack-API-Version:
/// compute X` or `X-OpenStack-Nova-API-Version: X`.
struct Microversion: Comparable, Sendable, CustomStringConvertible {
    var major: Int
    var minor: Int

    static let minimum = Microversion(major: 2, minor: 1)
    /// The highest microversion whose behaviour Updraft implements.
    static let maximum = Microversion(major: 2, minor: 47)

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

    /// At least `2.<minor>`.
    func atLeast(_ minor: Int) -> Bool { self >= Microversion(major: 2, minor: minor) }

    /// The version a request asks for: 2.1 when it names none, the maximum for `latest`;
    /// nil when it names one outside the supported range (Nova answers 406).
    static func requested(by request: Request) -> Result<Microversion, UpdraftError> {
        var asked: String?
        if let header = request.headers[.openStackAPIVersion] {
            for item in header.split(separator: ",") {
                let words = item.split(separator: " ", omittingEmptySubsequences: true)
                if words.count == 2, words[0].lowercased() == "compute" { asked = String(words[1]) }
            }
        }
        if asked == nil { asked = request.headers[.novaAPIVersion] }
        guard let asked else { return .success(.minimum) }
        if asked.lowercased() == "latest" { return .success(.maximum) }
        guard let version = Microversion(asked) else {
            return .failure(.badRequest("Invalid API version request: \(asked)"))
        }
        guard version >= minimum && version <= maximum else {
            return .failure(
                UpdraftError(
                    .badRequest,
                    "Version \(asked) is not supported by the API. Minimum is \(minimum) and maximum is \(maximum)."))
        }
        return .success(version)
    }

    /// The headers that stamp the negotiated version on every answer, as Nova does.
    var headers: HTTPFields {
        [
            .openStackAPIVersion: "compute \(self)", .novaAPIVersion: description,
            .vary: "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
        ]
    }
}

import Foundation
import Hummingbird
import UpdraftCompute
import UpdraftCore

/// `os-aggregates`: none yet; listed empty so clients that ask get an answer.
extension ComputeController {
    func registerAggregates(on v: RouteGroup) {
        route(v, .get, "os-aggregates", .admin) { _, _, call in
            return call.respond(.object(["aggregates": .array([])]))
        }
    }
}

import Foundation
import Hummingbird
import UpdraftBlockStorage
import UpdraftCore

extension BlockStorageController {
    static func transferSortValue(_ transfer: VolumeTransfer, _ key: String) -> String {
        switch key {
        case "id": transfer.id
        case "name": transfer.name ?? ""
        case "volume_id": transfer.volumeID
        default: BlockStorageService.timestamp(transfer.createdAt)
        }
    }

    /// Volume transfers, under `volume-transfers` (3.55+, with `no_snapshots`) and under
    /// the older `os-volume-transfer`, which every microversion serves as Cinder does.
    func registerTransfers(on v3: RouteGroup) {
        for (collection, since) in [("volume-transfers", 55), ("os-volume-transfer", 0)] {
            for (suffix, detail) in [("", false), ("/detail", true)] {
                route(v3, .get, collection + suffix, .authenticated) { request, _, call in
                    try call.require(since)
                    return try await self.listTransfers(request, call, detail: detail)
                }
            }
            route(v3, .post, collection, .member) { request, _, call in
                try call.require(since)
                let body = try await self.body(request, "transfer")
                guard let volumeID = try body.string("volume_id") else {
                    throw UpdraftError.badRequest("Invalid input received: volume_id is required.")
                }
                let transfer = try await self.storage.createTransfer(
                    volumeID: volumeID, name: try body.string("name"),
                    noSnapshots: call.atLeast(55) ? try Self.flag(body, "no_snapshots") ?? false : false,
                    caller: call.caller)
                return try call.respond("transfer", transfer, status: .accepted)
            }
            route(v3, .get, collection + "/:id", .authenticated) { _, context, call in
                try call.require(since)
                return try call.respond(
                    "transfer", try await self.storage.transfer(try context.parameter("id"), caller: call.caller))
            }
            route(v3, .delete, collection + "/:id", .member) { _, context, call in
                try call.require(since)
                try await self.storage.deleteTransfer(try context.parameter("id"), caller: call.caller)
                return call.empty()
            }
            route(v3, .post, collection + "/:id/accept", .member) { request, context, call in
                try call.require(since)
                let body = try await self.body(request, "accept")
                guard let key = try body.string("auth_key") else {
                    throw UpdraftError.badRequest("Invalid input received: auth_key is required.")
                }
                let transfer = try await self.storage.acceptTransfer(
                    try context.parameter("id"), authKey: key, caller: call.caller)
                return try call.respond("transfer", VolumeTransfer.Summary(transfer), status: .accepted)
            }
        }
    }

    func listTransfers(_ request: Request, _ call: Call, detail: Bool) async throws -> Response {
        let query = try CinderQuery(
            request, maxLimit: storage.configuration.maxLimit, sortable: ["id", "name", "volume_id", "created_at"])
        let everyProject = query.allProjects || ["1", "true", "True"].contains(query.filters["all_projects"] ?? "")
        var transfers = try await storage.transfers(allProjects: everyProject, caller: call.caller)
        if let name = query.filters["name"] { transfers.removeAll { $0.name != name } }
        if let volume = query.filters["volume_id"] { transfers.removeAll { $0.volumeID != volume } }
        if detail {
            return try list(request, call, "transfers", transfers, query: query, id: \.id, value: Self.transferSortValue)
        }
        return try list(
            request, call, "transfers", transfers.map(VolumeTransfer.Summary.init), query: query, id: \.transfer.id,
            value: { Self.transferSortValue($0.transfer, $1) })
    }
}

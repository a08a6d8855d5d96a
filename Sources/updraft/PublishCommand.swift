import ArgumentParser
import Foundation
import GuestImage
import UpdraftCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension ImageCommand {
    /// `updraft image publish NAME`: a built library image into a running cloud's image
    /// service, as a public featured image with Glance's usual properties.
    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a built library image to a running cloud as a public featured image.",
            discussion: """
                Publishes NAME.qcow2 from the cache (`updraft image build NAME` makes it) through the cloud's
                image API as its admin (DATA/admin-openrc.sh), with os_distro, os_version, os_admin_user,
                hw_qemu_guest_agent, hw_disk_bus, min_disk, min_ram and a description. The featured image of
                that name it replaces stays, hidden (os_hidden), so servers booted from it can be rebuilt.
                Publishing the same build again changes nothing. Prints the image's id.
                """)

        @Argument(help: "The library image, e.g. debian-12.")
        var name: String

        @Option(help: "The cloud's data directory (its admin-openrc.sh names the cloud and the admin).")
        var dataDir: String = "./updraft-data"

        @Option(help: "Cache directory (default: $XDG_CACHE_HOME/updraft/images or ~/.cache/updraft/images).")
        var cacheDir: String?

        /// Marks the build an image was published from, so the same build is published once.
        static let buildProperty = "updraft_build_sha256"

        func run() async throws {
            let cache = absolute(
                cacheDir ?? GuestImage.defaultCacheDirectory(environment: ProcessInfo.processInfo.environment))
            do {
                guard let built = GuestImage.LibraryImage.cached(name, cacheDirectory: cache) else {
                    throw UpdraftError.badRequest("no built image \(name) in \(cache); run `updraft image build \(name)`")
                }
                print(try await publish(built, session: try await AdminSession.login(dataDirectory: absolute(dataDir))))
            } catch {
                FileHandle.standardError.write(Data("updraft: \(oneLine(error))\n".utf8))
                throw ExitCode(1)
            }
        }

        /// Creates the image, streams the disk, then hides the featured images of the same name
        /// it replaces. Returns the new image's id (the existing one's when this build is there).
        func publish(_ built: GuestImage.LibraryImage, session: AdminSession) async throws -> String {
            let manifest = built.manifest
            let sameName = try await featured(named: name, session)
            if let current = sameName.first(where: { $0.build == manifest.file.sha256 }) { return current.id }

            var fields: [String: JSONValue] = [
                "name": .string(name), "disk_format": .string("qcow2"), "container_format": .string("bare"),
                "visibility": .string("public"), "min_disk": .integer(manifest.minDisk),
                "min_ram": .integer(manifest.minRAM), "description": .string(manifest.description),
                "updraft_featured": .string("true"), Self.buildProperty: .string(manifest.file.sha256),
            ]
            for (key, value) in manifest.properties { fields[key] = .string(value) }
            let created = try await session.send(
                try session.request("POST", "/image/v2/images", json: .object(fields)), expecting: 201, "the image create")
            guard case .object(let image) = try JSONValue.parse(created), case .string(let id)? = image["id"] else {
                throw UpdraftError.internal("the image service's answer has no id")
            }
            var upload = try session.request("PUT", "/image/v2/images/\(id)/file")
            upload.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
            let (body, response) = try await URLSession.shared.upload(for: upload, fromFile: built.disk)
            try AdminSession.check(response, body, 204, "the upload of \(built.disk.path)")

            let hide = JSONValue.array([
                .object(["op": .string("replace"), "path": .string("/os_hidden"), "value": .bool(true)])
            ])
            for older in sameName {
                _ = try await session.send(
                    try session.request(
                        "PATCH", "/image/v2/images/\(older.id)", json: hide,
                        contentType: "application/openstack-images-v2.1-json-patch"), expecting: 200, "hiding \(older.id)")
            }
            return id
        }

        /// The visible public featured images called `name`, with the build each came from.
        func featured(named name: String, _ session: AdminSession) async throws -> [(id: String, build: String?)] {
            let query = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
            let body = try await session.send(
                try session.request("GET", "/image/v2/images?visibility=public&limit=1000&name=\(query)"), expecting: 200,
                "the image list")
            guard case .object(let root) = try JSONValue.parse(body), case .array(let images)? = root["images"] else {
                return []
            }
            return images.compactMap { entry in
                guard case .object(let image) = entry, case .string(let id)? = image["id"],
                    case .string("true")? = image["updraft_featured"]
                else { return nil }
                if case .string(let build)? = image[Self.buildProperty] { return (id, build) }
                return (id, nil)
            }
        }
    }
}

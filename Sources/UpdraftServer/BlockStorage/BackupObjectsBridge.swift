import Foundation
import NIOCore
import UpdraftBlockStorage
import UpdraftCore
import UpdraftObjectStorage

/// Block storage's backups in object storage: objects in a container of the backup's
/// project's account, written and read in process as Updraft itself, so they count in the
/// account's usage and its owners see them in `openstack container list`, as with Cinder's
/// Swift backup driver.
struct BackupObjectsBridge: BackupObjects {
    let storage: ObjectStorageService
    let caller = ObjectStorageService.Caller.user(.system)

    func prepareContainer(_ container: String, project: String) async throws {
        try await storage.putContainer(project, container, .init(), caller: caller)
    }

    func put(_ bytes: Data, as name: String, container: String, project: String) async throws {
        var write = ObjectStorageService.ObjectWrite()
        write.contentType = "application/octet-stream"
        write.contentLength = Int64(bytes.count)
        _ = try await storage.putObject(
            project, container, name, write, bytes: BufferSequence(ByteBuffer(bytes: bytes)), caller: caller)
    }

    func get(_ name: String, container: String, project: String) async throws -> Data {
        let (_, object) = try await storage.object(project, container, name, caller: caller)
        var data = Data()
        data.reserveCapacity(Int(object.size))
        for try await buffer in try await storage.body(project, of: object, caller: caller).chunks {
            data.append(contentsOf: buffer.readableBytesView)
        }
        return data
    }

    func delete(_ name: String, container: String, project: String) async throws {
        do {
            try await storage.deleteObject(project, container, name, caller: caller)
        } catch {
            if error.code != .notFound { throw error }
        }
    }

    func names(prefix: String, container: String, project: String) async throws -> [String] {
        var names: [String] = []
        while let page = try await page(prefix: prefix, after: names.last, container: container, project: project),
            !page.isEmpty
        {
            names += page
        }
        return names
    }

    /// One listing page of names under `prefix` after `marker`; nil when the container is gone.
    private func page(prefix: String, after marker: String?, container: String, project: String) async throws
        -> [String]?
    {
        do {
            let (_, entries) = try await storage.listObjects(
                project, container, ListingQuery(prefix: prefix, marker: marker), caller: caller)
            return entries.map(\.name)
        } catch {
            if error.code == .notFound { return nil }
            throw error
        }
    }
}

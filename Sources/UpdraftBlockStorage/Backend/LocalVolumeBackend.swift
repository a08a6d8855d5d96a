import Foundation
import QEMU

/// Volumes as qcow2 files under one directory: `volumes/<id>.qcow2` and
/// `volumes/snapshots/<id>.qcow2` (0700). A volume from an image is a qcow2 child of the
/// image's cached base (shared with instances' root disks), so it costs nothing until
/// written; a volume from a volume or a snapshot is a full copy (zeros skipped), so
/// snapshots and volumes can be deleted in any order.
public struct LocalVolumeBackend: VolumeBackend {
    public let directory: String
    let img: QEMU.Img
    let bases: QEMU.BaseImageCache

    /// Volumes under `directory`, made with `img`, on the bases of `bases`.
    public init(directory: String, img: QEMU.Img, bases: QEMU.BaseImageCache) {
        self.directory = directory
        self.img = img
        self.bases = bases
    }

    var snapshotsDirectory: String { directory + "/snapshots" }

    func path(volume id: String) -> String { directory + "/" + id + ".qcow2" }
    func path(snapshot id: String) -> String { snapshotsDirectory + "/" + id + ".qcow2" }

    public func location(volume id: String) -> VolumeLocation { .file(path: path(volume: id), format: "qcow2") }
    public func location(snapshot id: String) -> VolumeLocation { .file(path: path(snapshot: id), format: "qcow2") }
    public func liveSnapshotPath(_ id: String) -> String { path(snapshot: id) }

    static func bytes(_ gigabytes: Int) -> Int64 { Int64(gigabytes) << 30 }

    func prepare() throws {
        for path in [directory, snapshotsDirectory] {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    /// Makes `final` through a scratch name, so a crash never leaves a half-made file under
    /// the volume's own name.
    func make(_ final: String, _ body: (String) async throws -> Void) async throws {
        try prepare()
        let partial = final + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try await body(partial)
            if FileManager.default.fileExists(atPath: final) { try FileManager.default.removeItem(atPath: final) }
            try FileManager.default.moveItem(atPath: partial, toPath: final)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    public func create(_ id: String, sizeGB: Int) async throws {
        try await make(path(volume: id)) { partial in
            try await img.create(path: partial, format: .qcow2, sizeBytes: Self.bytes(sizeGB))
        }
    }

    public func create(_ id: String, sizeGB: Int, image: VolumeImageSource) async throws {
        let base = try await bases.base(imageID: image.id, path: image.path, diskFormat: image.diskFormat)
        let baseSize = try await bases.virtualSize(of: base)
        let wanted = Self.bytes(sizeGB)
        try await make(path(volume: id)) { partial in
            try await img.createOverlay(
                base: base.path, baseFormat: base.format, path: partial, sizeBytes: wanted > baseSize ? wanted : nil)
        }
    }

    public func create(_ id: String, sizeGB: Int, copying source: VolumeLocation) async throws {
        guard case .file(let sourcePath, let sourceFormat) = source else { return }
        try await make(path(volume: id)) { partial in
            try await img.convert(from: sourcePath, fromFormat: sourceFormat, to: partial, format: "qcow2")
            if try await img.info(path: partial, format: "qcow2").virtualSize < Self.bytes(sizeGB) {
                try await img.resize(path: partial, format: .qcow2, sizeBytes: Self.bytes(sizeGB))
            }
        }
    }

    public func extend(_ id: String, sizeGB: Int) async throws {
        let file = path(volume: id)
        if try await img.info(path: file, format: "qcow2").virtualSize < Self.bytes(sizeGB) {
            try await img.resize(path: file, format: .qcow2, sizeBytes: Self.bytes(sizeGB))
        }
    }

    public func delete(_ id: String) async throws {
        for file in [path(volume: id), path(volume: id) + ".partial"] where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.removeItem(atPath: file)
        }
    }

    public func snapshot(_ id: String, into snapshotID: String) async throws {
        try await make(path(snapshot: snapshotID)) { partial in
            try await img.convert(from: path(volume: id), fromFormat: "qcow2", to: partial, format: "qcow2")
        }
    }

    public func deleteSnapshot(_ id: String) async throws {
        for file in [path(snapshot: id), path(snapshot: id) + ".partial"]
        where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.removeItem(atPath: file)
        }
    }

    public func export(_ location: VolumeLocation, format: String, to path: String) async throws {
        guard case .file(let source, let sourceFormat) = location else { return }
        try await img.convert(from: source, fromFormat: sourceFormat, to: path, format: format)
    }

    public func inventory() async throws -> (volumes: Set<String>, snapshots: Set<String>) {
        func ids(_ directory: String) -> Set<String> {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return Set(names.compactMap { $0.hasSuffix(".qcow2") ? String($0.dropLast(6)) : nil })
        }
        return (ids(directory), ids(snapshotsDirectory))
    }
}

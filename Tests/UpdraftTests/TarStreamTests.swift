import Foundation
import NIOCore
import Testing

@testable import UpdraftObjectStorage

/// Archives written by GNU tar in its three formats, read back through `TarStream` in small
/// pieces as a network delivers them.
@Suite("Tar stream")
struct TarStreamTests {
    @Test(
        "ustar, GNU long names and pax paths: every file's name and bytes, directories skipped",
        arguments: ["ustar", "gnu", "pax"])
    func formats(_ format: String) async throws {
        let directory = NSTemporaryDirectory() + "updraft-tar-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let long = String(repeating: "n", count: format == "ustar" ? 90 : 180)
        let files: [String: String] = [
            "c/a.txt": "alpha", "c/sub/b.bin": String(repeating: "b", count: 1500), "c/\(long)": "long", "c/empty": "",
        ]
        for (name, text) in files {
            let path = directory + "/" + name
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        let archive = directory + "/x.tar"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["--format=\(format)", "-C", directory, "-cf", archive, "c"]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let stream = TarStream(Pieces(body: ByteBuffer(bytes: bytes), size: 7))
        var found: [String: String] = [:]
        while let (name, size) = try await stream.next() {
            var body = ByteBuffer()
            for try await var chunk in stream.entry { body.writeBuffer(&chunk) }
            #expect(Int64(body.readableBytes) == size)
            found[name] = String(buffer: body)
        }
        #expect(found == files)
    }
}

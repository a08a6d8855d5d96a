import Foundation
import Testing

@testable import QEMU

private let toolsAvailable =
    (try? QEMU.locateBinary("qemu-img")) != nil && (try? QEMU.locateBinary("genisoimage")) != nil

@Suite("qemu-img and config drives", .enabled(if: toolsAvailable, "qemu-img or genisoimage is not installed"))
struct ImgTests {
    @Test("an overlay records its base, grows, and converts to a standalone image")
    func overlayResizeConvert() async throws {
        try await withRuntimeDirectory { directory in
            let img = try QEMU.Img()
            let base = directory + "/base.raw"
            #expect(FileManager.default.createFile(atPath: base, contents: Data(count: 1 << 20)))
            try await img.createOverlay(base: base, baseFormat: .raw, path: directory + "/disk", sizeBytes: 2 << 20)
            var info = try await img.info(path: directory + "/disk", format: "qcow2")
            #expect(info.format == "qcow2")
            #expect(info.virtualSize == 2 << 20)
            #expect(info.backingFile == base)
            try await img.resize(path: directory + "/disk", format: .qcow2, sizeBytes: 4 << 20)
            info = try await img.info(path: directory + "/disk", format: "qcow2")
            #expect(info.virtualSize == 4 << 20)
            try await img.convert(from: directory + "/disk", fromFormat: "qcow2", to: directory + "/flat", format: "qcow2")
            info = try await img.info(path: directory + "/flat", format: "qcow2")
            #expect(info.backingFile == nil)
            #expect(info.virtualSize == 4 << 20)
        }
    }

    @Test("a failing qemu-img call reports its stderr")
    func toolError() async throws {
        let img = try QEMU.Img()
        do {
            _ = try await img.info(path: "/nonexistent/disk", format: "qcow2")
            Issue.record("info of a missing file succeeded")
        } catch QEMU.Error.tool(let program, _, let output) {
            #expect(program == "qemu-img")
            #expect(output.contains("/nonexistent/disk"))
        }
    }

    @Test("a config drive is an ISO 9660 volume labelled config-2")
    func configDrive() async throws {
        try await withRuntimeDirectory { directory in
            let tree = directory + "/tree/openstack/latest"
            try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
            try Data(#"{"uuid":"x"}"#.utf8).write(to: URL(fileURLWithPath: tree + "/meta_data.json"))
            try await QEMU.ConfigDrive().build(from: directory + "/tree", to: directory + "/disk.config")
            let iso = try Data(contentsOf: URL(fileURLWithPath: directory + "/disk.config"))
            let descriptor = iso[0x8000..<0x8000 + 48]
            #expect(String(decoding: descriptor[0x8001..<0x8006], as: UTF8.self) == "CD001")
            #expect(String(decoding: descriptor[0x8028..<0x8030], as: UTF8.self) == "config-2")
        }
    }
}

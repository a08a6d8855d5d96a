import Foundation
import Testing

@testable import GuestImage

@Suite("tiny.json and the cache")
struct ManifestTests {
    static let json = """
        {
          "boot_marker" : "UPDRAFT-GUEST-READY instance-id=",
          "files" : {
            "disk" : { "format" : "qcow2", "name" : "tiny.qcow2", "sha256" : "aa", "size" : 3 },
            "kernel" : { "format" : "bzImage", "name" : "tiny-vmlinuz", "sha256" : "bb", "size" : 2 },
            "ramdisk" : { "format" : "cpio.gz", "name" : "tiny-initrd", "sha256" : "cc", "size" : 1 }
          },
          "kernel_command_line" : "console=ttyS0,115200",
          "kernel_release" : "6.1.0-56-amd64",
          "modules" : [ "virtio_ring", "virtio" ],
          "packages" : { "busybox-static" : "1:1.35.0-4+deb12u1+b1" },
          "recipe" : "tiny",
          "recipe_version" : \(GuestImage.recipeVersion),
          "source_date_epoch" : 1700000000
        }
        """

    /// A cache directory holding the manifest above and files of the sizes it records.
    static func cacheDirectory(json: String = json, sizes: [String: Int] = [:]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("guest-image-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(json.utf8).write(to: directory.appendingPathComponent("tiny.json"))
        let defaults = ["tiny.qcow2": 3, "tiny-vmlinuz": 2, "tiny-initrd": 1]
        for (name, size) in defaults.merging(sizes, uniquingKeysWith: { _, new in new }) where size >= 0 {
            try Data(repeating: 7, count: size).write(to: directory.appendingPathComponent(name))
        }
        return directory
    }

    @Test("the manifest parses with its snake_case keys")
    func parses() throws {
        let manifest = try GuestImage.Manifest.decode(Data(Self.json.utf8))
        #expect(manifest.recipe == "tiny")
        #expect(manifest.recipeVersion == GuestImage.recipeVersion)
        #expect(manifest.kernelRelease == "6.1.0-56-amd64")
        #expect(manifest.sourceDateEpoch == 1_700_000_000)
        #expect(manifest.packages["busybox-static"] == "1:1.35.0-4+deb12u1+b1")
        #expect(manifest.files.disk == .init(name: "tiny.qcow2", format: "qcow2", size: 3, sha256: "aa"))
        #expect(manifest.modules == ["virtio_ring", "virtio"])
    }

    @Test("the manifest survives encoding, with sorted keys and unescaped slashes")
    func roundTrips() throws {
        var manifest = try GuestImage.Manifest.decode(Data(Self.json.utf8))
        manifest.kernelCommandLine = "console=ttyS0 root=/dev/vda"
        let data = try manifest.encoded()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("root=/dev/vda"))
        #expect(text.hasSuffix("}\n"))
        let bootMarker = try #require(text.range(of: "\"boot_marker\""))
        let recipe = try #require(text.range(of: "\"recipe\""))
        #expect(bootMarker.lowerBound < recipe.lowerBound)
        #expect(try GuestImage.Manifest.decode(data) == manifest)
    }

    @Test("a complete cache of the current recipe version is a hit")
    func cacheHit() throws {
        let directory = try Self.cacheDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let artifacts = try #require(GuestImage.cached(cacheDirectory: directory.path))
        #expect(artifacts.disk.lastPathComponent == "tiny.qcow2")
        #expect(artifacts.kernel.path == directory.appendingPathComponent("tiny-vmlinuz").path)
        #expect(artifacts.ramdisk.lastPathComponent == "tiny-initrd")
        #expect(artifacts.manifestFile.lastPathComponent == "tiny.json")
    }

    @Test("another recipe version, a missing or resized file, or no manifest is a miss")
    func cacheMiss() throws {
        let older = Self.json.replacingOccurrences(
            of: "\"recipe_version\" : \(GuestImage.recipeVersion)", with: "\"recipe_version\" : 0")
        let cases = [
            try Self.cacheDirectory(json: older), try Self.cacheDirectory(sizes: ["tiny-initrd": -1]),
            try Self.cacheDirectory(sizes: ["tiny.qcow2": 4]), try Self.cacheDirectory(json: "{"),
        ]
        defer { cases.forEach { try? FileManager.default.removeItem(at: $0) } }
        for directory in cases {
            #expect(GuestImage.cached(cacheDirectory: directory.path) == nil)
        }
        #expect(GuestImage.cached(cacheDirectory: "/nonexistent/updraft-images") == nil)
    }

    @Test("the default cache directory follows XDG_CACHE_HOME, then HOME")
    func defaultCacheDirectory() {
        #expect(
            GuestImage.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]) == "/c/updraft/images")
        #expect(GuestImage.defaultCacheDirectory(environment: ["HOME": "/h"]) == "/h/.cache/updraft/images")
        #expect(
            GuestImage.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "relative", "HOME": "/h"])
                == "/h/.cache/updraft/images")
        #expect(GuestImage.defaultCacheDirectory(environment: [:]) == "/tmp/updraft/images")
    }
}

import Foundation
import NIOCore
import Testing

@testable import UpdraftImage

@Suite("Image data streaming")
struct ImageDataWriterTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "updraft-image-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("chunks are hashed as they are written, and the file is renamed into place")
    func streams() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var all = Data()
        var writer = try ImageDataWriter(temporaryPath: dir + "/x.partial")
        for index in 0..<10 {
            let chunk = Data((0..<(1000 + index * 777)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
            all.append(chunk)
            try writer.write(ByteBuffer(bytes: chunk))
        }
        let digest = try writer.finish(movingTo: dir + "/x")
        #expect(digest.size == Int64(all.count))
        // Expected values from Python's hashlib over the same bytes.
        #expect(digest.size == 44965)
        #expect(digest.md5 == "68c99adc77c7daf9fef91029c27d2705")
        #expect(
            digest.sha512
                == "61e82896176b0e45d9063691e2b5353dc9643e395ab46253b72d022af0c72174"
                + "a9f7d0d013e026a036a3de425e3f909c8ee01bd20bbbd006f1f5018d754789ce")
        #expect(FileManager.default.contents(atPath: dir + "/x") == all)
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.partial"))
        #expect(try ImageDataWriter.digest(ofFile: dir + "/x") == digest)
    }

    @Test("a discarded upload leaves no file behind")
    func discards() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var writer = try ImageDataWriter(temporaryPath: dir + "/y.partial")
        try writer.write(ByteBuffer(string: "half an image"))
        writer.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("qcow2 virtual size comes from the header; raw is the file size")
    func virtualSize() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var header = [UInt8](repeating: 0, count: 64)
        header[0...3] = [0x51, 0x46, 0x49, 0xfb]
        header[7] = 3
        let size: UInt64 = 1 << 30
        for index in 0..<8 { header[24 + index] = UInt8(truncatingIfNeeded: size >> (56 - 8 * UInt64(index))) }
        #expect(FileManager.default.createFile(atPath: dir + "/q", contents: Data(header)))
        #expect(ImageDataWriter.virtualSize(ofFile: dir + "/q", diskFormat: "qcow2", size: 64) == 1 << 30)
        #expect(ImageDataWriter.virtualSize(ofFile: dir + "/q", diskFormat: "raw", size: 64) == 64)
        #expect(ImageDataWriter.virtualSize(ofFile: dir + "/q", diskFormat: "vmdk", size: 64) == nil)
    }
}

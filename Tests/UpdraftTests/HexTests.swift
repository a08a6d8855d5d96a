import Foundation
import Testing
import UpdraftCore

@Suite("Hex encoding")
struct HexTests {
    @Test("every byte is two lowercase digits, as String(format: \"%02x\") writes it")
    func everyByte() {
        let bytes = (0...255).map { UInt8($0) }
        #expect(bytes.hexString == bytes.map { String(format: "%02x", $0) }.joined())
        #expect(Data([0xde, 0xad, 0xbe, 0xef]).hexString == "deadbeef")
        #expect([UInt8]().hexString == "")
    }

    @Test("a separator goes between bytes only, as in an SSH fingerprint")
    func separator() {
        #expect([0x00, 0x0f, 0xa0, 0xff].hexString(separator: ":") == "00:0f:a0:ff")
        #expect([0x7f].hexString(separator: ":") == "7f")
        #expect([UInt8]().hexString(separator: ":") == "")
        #expect([0x01, 0x02].hexString(separator: " - ") == "01 - 02")
    }
}

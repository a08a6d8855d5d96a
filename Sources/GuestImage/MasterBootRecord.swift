import Foundation

extension GuestImage {
    /// The first sector of the disk: SYSLINUX's boot code, a fixed disk id and one active partition.
    ///
    /// Written here rather than by `sfdisk` because the layout is one entry, and so one program fewer
    /// must be installed.
    struct MasterBootRecord: Equatable {
        /// The first 440 bytes of `mbr.bin`.
        var bootCode: Data
        /// The 32-bit disk signature at offset 440.
        var diskID: UInt32
        /// First sector of the partition.
        var start: UInt32
        /// Sectors in the partition.
        var sectors: UInt32
        /// The MBR partition type: 0x0e is FAT16 addressed by LBA.
        var type: UInt8 = 0x0e

        /// The 512 bytes.
        var sector: Data {
            var bytes = [UInt8](repeating: 0, count: 512)
            for (index, byte) in bootCode.prefix(440).enumerated() {
                bytes[index] = byte
            }
            withUnsafeBytes(of: diskID.littleEndian) { bytes.replaceSubrange(440..<444, with: $0) }
            var entry: [UInt8] = [0x80]
            entry += Self.chs(start)
            entry += [type]
            entry += Self.chs(start + sectors - 1)
            withUnsafeBytes(of: start.littleEndian) { entry += $0 }
            withUnsafeBytes(of: sectors.littleEndian) { entry += $0 }
            bytes.replaceSubrange(446..<462, with: entry)
            bytes[510] = 0x55
            bytes[511] = 0xaa
            return Data(bytes)
        }

        /// Cylinder/head/sector of an LBA in the usual 255-head, 63-sector geometry, saturated at
        /// cylinder 1023 as BIOSes expect for addresses beyond it.
        static func chs(_ lba: UInt32) -> [UInt8] {
            let headsPerCylinder: UInt32 = 255
            let sectorsPerTrack: UInt32 = 63
            var cylinder = lba / (headsPerCylinder * sectorsPerTrack)
            var head = (lba / sectorsPerTrack) % headsPerCylinder
            var sector = lba % sectorsPerTrack + 1
            if cylinder > 1023 {
                (cylinder, head, sector) = (1023, 254, 63)
            }
            return [UInt8(head), UInt8(sector | ((cylinder >> 8) << 6)), UInt8(cylinder & 0xff)]
        }
    }
}

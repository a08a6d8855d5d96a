import Foundation

extension GuestImage {
    /// The first sector of the disk: SYSLINUX's boot code, a fixed disk id and up to four
    /// primary partitions, the first one active.
    ///
    /// Written here rather than by `sfdisk` because the layouts are fixed, and so one program
    /// fewer must be installed.
    struct MasterBootRecord: Equatable {
        /// One primary partition.
        struct Partition: Equatable {
            /// First sector.
            var start: UInt32
            /// Sectors in it.
            var sectors: UInt32
            /// The MBR partition type: 0x0e is FAT16 and 0x0c FAT32 addressed by LBA, 0x83 Linux.
            var type: UInt8
        }

        /// The first 440 bytes of `mbr.bin`.
        var bootCode: Data
        /// The 32-bit disk signature at offset 440; Linux names partitions `PARTUUID=<id>-<nn>` by it.
        var diskID: UInt32
        /// In table order; the first is the one the boot code starts.
        var partitions: [Partition]

        /// One active FAT16 partition: the tiny image's disk.
        init(bootCode: Data, diskID: UInt32, start: UInt32, sectors: UInt32, type: UInt8 = 0x0e) {
            self.init(bootCode: bootCode, diskID: diskID, partitions: [Partition(start: start, sectors: sectors, type: type)])
        }

        init(bootCode: Data, diskID: UInt32, partitions: [Partition]) {
            self.bootCode = bootCode
            self.diskID = diskID
            self.partitions = partitions
        }

        /// The 512 bytes.
        var sector: Data {
            var bytes = [UInt8](repeating: 0, count: 512)
            for (index, byte) in bootCode.prefix(440).enumerated() {
                bytes[index] = byte
            }
            withUnsafeBytes(of: diskID.littleEndian) { bytes.replaceSubrange(440..<444, with: $0) }
            for (index, partition) in partitions.prefix(4).enumerated() {
                var entry: [UInt8] = [index == 0 ? 0x80 : 0x00]
                entry += Self.chs(partition.start)
                entry += [partition.type]
                entry += Self.chs(partition.start + partition.sectors - 1)
                withUnsafeBytes(of: partition.start.littleEndian) { entry += $0 }
                withUnsafeBytes(of: partition.sectors.littleEndian) { entry += $0 }
                bytes.replaceSubrange((446 + 16 * index)..<(462 + 16 * index), with: entry)
            }
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

extension GuestImage {
    /// What goes into the tiny image: the Debian packages, the kernel modules, and the guest's files.
    enum Recipe {
        /// The metapackage whose `Depends` names the kernel package of the day.
        static let kernelMetapackage = "linux-image-amd64"

        /// Everything besides the kernel: busybox for the userland, dropbear and the libraries it links.
        static let packages = [
            "busybox-static", "dropbear-bin", "libc6", "libcrypt1", "libgmp10", "libtomcrypt1", "libtommath1", "zlib1g",
        ]

        /// Modules Debian builds as `=m` that the guest needs: virtio PCI disks and NICs, the config
        /// drive's ISO 9660, ext4 (which also mounts the ext2 busybox's `mke2fs` makes on a volume)
        /// with the crc32c it asks the crypto API for at mount, the ACPI power button reported
        /// through evdev, and virtio-rng for entropy.
        static let modules = [
            "virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "isofs", "ext4", "crc32c_generic", "button", "evdev",
        ]

        /// Shared libraries dropbear and dropbearkey need, looked up in the unpacked packages.
        static let libraries = [
            "ld-linux-x86-64.so.2", "libc.so.6", "libcrypt.so.1", "libgmp.so.10", "libtomcrypt.so.1", "libtommath.so.1",
            "libz.so.1",
        ]

        /// Directories in the unpacked packages where ``libraries`` live.
        static let libraryDirectories = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu"]

        /// Programs copied from `dropbear-bin`: source path in the package, path in the guest.
        static let programs = [("usr/sbin/dropbear", "usr/sbin/dropbear"), ("usr/bin/dropbearkey", "usr/bin/dropbearkey")]

        /// What the disk's bootloader passes the kernel.
        static let kernelCommandLine = "console=ttyS0,115200"

        /// The FAT volume id, fixed so two builds are identical ("UPDT").
        static let volumeID = "55504454"

        /// The MBR disk signature, the same four bytes as ``volumeID``.
        static let diskID: UInt32 = 0x5550_4454

        /// busybox init's table: the boot script once, then a login prompt on the serial console.
        static let inittab = """
            ::sysinit:/etc/init.d/rcS
            ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
            ::ctrlaltdel:/sbin/reboot
            ::shutdown:/bin/umount -a -r

            """

        /// Accounts. `updraft` is a second name for uid 0: busybox has no sudo, and a key-only login
        /// as root under another name is the honest way to give the instance owner root.
        static let passwd = """
            root:*:0:0:root:/root:/bin/sh
            updraft:*:0:0:updraft (uid 0, root-equivalent):/home/updraft:/bin/sh
            nobody:*:65534:65534:nobody:/nonexistent:/bin/false

            """

        /// Groups for the accounts above.
        static let group = """
            root:x:0:
            nogroup:x:65534:

            """

        /// Login shells dropbear accepts.
        static let shells = """
            /bin/sh
            /bin/ash

            """

        /// Name resolution before DHCP writes `/etc/resolv.conf`; rcS appends the instance's name.
        static let hosts = """
            127.0.0.1 localhost

            """

        /// The SYSLINUX configuration on the FAT partition: boot at once, messages on the first serial port.
        static func syslinuxConfig(commandLine: String = kernelCommandLine, initrd: String = "initrd") -> String {
            """
            SERIAL 0 115200
            DEFAULT updraft
            PROMPT 0
            TIMEOUT 0
            LABEL updraft
              LINUX /vmlinuz
              INITRD /\(initrd)
              APPEND \(commandLine)

            """
        }

        /// The modules rcS loads, one per line, in load order.
        static func moduleList(_ order: [String]) -> String {
            order.map { $0 + "\n" }.joined()
        }
    }
}

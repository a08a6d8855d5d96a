extension QEMU.MachineConfiguration {
    /// The QEMU command line (without the binary), in a fixed order so it can be compared
    /// as golden text.
    ///
    /// `-no-user-config -nodefaults` keep host config files and default devices out;
    /// `-display none` with an explicit VGA device keeps a framebuffer for VNC only.
    public func arguments() -> [String] {
        var argv: [String] = [
            "-name", Self.escape(name),
            "-uuid", uuid,
            "-no-user-config", "-nodefaults",
            "-machine", "\(machineType.rawValue),accel=\(accelerator.name)",
        ]
        if accelerator == .kvm {
            argv += ["-cpu", "host"]
        }
        argv += [
            "-smp", String(vcpus),
            "-m", String(memoryMiB),
            "-smbios",
            "type=1,manufacturer=\(Self.escape(smbios.manufacturer)),product=\(Self.escape(smbios.product)),"
                + "serial=\(Self.escape(smbios.serial)),uuid=\(uuid)",
            "-msg", "timestamp=on",
            "-display", "none",
        ]
        for (index, disk) in disks.enumerated() {
            var drive = "file=\(Self.escape(disk.path)),format=\(disk.format.rawValue),if=\(disk.interface.rawValue)"
            drive += ",index=\(index)"
            if disk.readOnly {
                drive += ",readonly=on"
            }
            argv += ["-drive", drive]
        }
        // Before every other -device, so their automatic slots go around the volumes' fixed ones.
        for volume in volumes {
            var blockdev = "driver=\(volume.format.rawValue),node-name=\(volume.nodeName),file.driver=file"
            blockdev += ",file.filename=\(Self.escape(volume.path))"
            if volume.readOnly {
                blockdev += ",read-only=on"
            }
            var device = "virtio-blk-pci,drive=\(volume.nodeName),id=\(volume.deviceID),serial=\(Self.escape(volume.serial))"
            device += ",addr=\(Volume.address(volume.slot))"
            if let bootIndex = volume.bootIndex {
                device += ",bootindex=\(bootIndex)"
            }
            argv += ["-blockdev", blockdev, "-device", device]
        }
        // At a fixed slot just below the volumes', before the devices QEMU places itself, so a
        // NIC plugged in later never takes its slot (a suspended guest resumes the same devices).
        if let guestAgentSocketPath {
            argv += [
                "-device", "virtio-serial-pci,id=agent-serial,addr=\(Volume.address(Self.guestAgentSlot))",
                "-chardev", "socket,id=agent0,path=\(Self.escape(guestAgentSocketPath)),server=on,wait=off",
                "-device", "virtserialport,bus=agent-serial.0,chardev=agent0,name=org.qemu.guest_agent.0",
            ]
        }
        if let kernelBoot {
            argv += ["-kernel", kernelBoot.kernel]
            if let initrd = kernelBoot.initrd {
                argv += ["-initrd", initrd]
            }
            if let append = kernelBoot.append {
                argv += ["-append", append]
            }
        }
        for (index, nic) in nics.enumerated() {
            let tap =
                switch nic.tap {
                case .named(let name): "ifname=\(Self.escape(name)),script=no,downscript=no"
                case .descriptor(let fd): "fd=\(fd)"
                }
            let id = nic.id.map(Self.escape) ?? "net\(index)"
            argv += ["-netdev", "tap,id=\(id),\(tap)", "-device", "virtio-net-pci,netdev=\(id),mac=\(nic.mac),id=\(id)-device"]
        }
        argv += [
            "-chardev", "file,id=console0,path=\(Self.escape(serialLogPath)),append=on",
            "-serial", "chardev:console0",
        ]
        if let vnc {
            argv += [
                "-device", "VGA",
                "-vnc",
                "unix:\(Self.escape(vnc.socketPath)),websocket=\(vnc.websocketHost):\(vnc.websocketPort)",
            ]
        }
        argv += [
            "-chardev", "socket,id=qmp0,path=\(Self.escape(qmpSocketPath)),server=on,wait=off",
            "-mon", "chardev=qmp0,mode=control",
            "-pidfile", pidFilePath,
        ]
        if let operatorSocketPath {
            argv += [
                "-chardev", "socket,id=qmp1,path=\(Self.escape(operatorSocketPath)),server=on,wait=off",
                "-mon", "chardev=qmp1,mode=control",
            ]
        }
        if let incomingStateFile {
            argv += ["-incoming", "exec:cat \(QEMU.shellQuote(incomingStateFile))"]
        }
        if let logPath {
            argv += ["-D", logPath]
        }
        if startPaused {
            argv.append("-S")
        }
        if daemonize {
            argv.append("-daemonize")
        }
        return argv
    }

    /// The guest agent's virtio-serial controller: the slot below the volumes' range.
    public static let guestAgentSlot = 0x0f

    /// QEMU option values separate keys with commas; a literal comma is written twice.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: ",", with: ",,")
    }
}

extension QEMU {
    /// `value` in single quotes for `/bin/sh`, which QEMU's `exec:` migration URIs run through.
    static func shellQuote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

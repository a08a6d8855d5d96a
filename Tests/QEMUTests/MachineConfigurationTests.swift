import Testing

@testable import QEMU

@Suite("Machine configuration")
struct MachineConfigurationTests {
    @Test("a disk-booted VM with a config drive and VNC renders the expected argv")
    func goldenDiskBoot() {
        let configuration = QEMU.MachineConfiguration(
            name: "updraft-0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c", uuid: "0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c",
            vcpus: 2, memoryMiB: 512, accelerator: .tcg(reason: "test"),
            disks: [
                .init(path: "/data/instances/x/disk", format: .qcow2),
                .configDrive(path: "/data/instances/x/disk.config"),
            ],
            serialLogPath: "/data/instances/x/console.log", qmpSocketPath: "/data/instances/x/qmp.sock",
            pidFilePath: "/data/instances/x/qemu.pid",
            vnc: .init(socketPath: "/data/instances/x/vnc.sock", websocketPort: 5701))
        var logged = configuration
        logged.logPath = "/data/instances/x/qemu.log"
        #expect(render(logged.arguments()).contains("-pidfile /data/instances/x/qemu.pid\n-D /data/instances/x/qemu.log\n"))
        let expected = """
            -name updraft-0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c
            -uuid 0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c
            -no-user-config
            -nodefaults
            -machine pc,accel=tcg
            -smp 2
            -m 512
            -smbios type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c,uuid=0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c
            -msg timestamp=on
            -display none
            -drive file=/data/instances/x/disk,format=qcow2,if=virtio,index=0
            -drive file=/data/instances/x/disk.config,format=raw,if=virtio,index=1,readonly=on
            -chardev file,id=console0,path=/data/instances/x/console.log,append=on
            -serial chardev:console0
            -device VGA
            -vnc unix:/data/instances/x/vnc.sock,websocket=127.0.0.1:5701
            -chardev socket,id=qmp0,path=/data/instances/x/qmp.sock,server=on,wait=off
            -mon chardev=qmp0,mode=control
            -pidfile /data/instances/x/qemu.pid
            -daemonize
            """
        #expect(render(configuration.arguments()) == expected)
    }

    @Test("a KVM q35 kernel boot resuming from saved memory renders the expected argv")
    func goldenKernelBootIncoming() {
        let configuration = QEMU.MachineConfiguration(
            name: "vm,1", uuid: "u", vcpus: 1, memoryMiB: 64, accelerator: .kvm, machineType: .q35,
            kernelBoot: .init(kernel: "/k", initrd: "/i", append: "root=/dev/vda console=ttyS0"),
            serialLogPath: "/r/console.log", qmpSocketPath: "/r/qmp.sock", pidFilePath: "/r/qemu.pid",
            nics: [
                .init(tap: .named("tap-upd0"), mac: "fa:16:3e:00:00:01"), .init(tap: .descriptor(3), mac: "fa:16:3e:00:00:02"),
            ], incomingStateFile: "/r/it's.state",
            startPaused: true)
        let expected = """
            -name vm,,1
            -uuid u
            -no-user-config
            -nodefaults
            -machine q35,accel=kvm
            -cpu host
            -smp 1
            -m 64
            -smbios type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=u,uuid=u
            -msg timestamp=on
            -display none
            -kernel /k
            -initrd /i
            -append root=/dev/vda console=ttyS0
            -netdev tap,id=net0,ifname=tap-upd0,script=no,downscript=no
            -device virtio-net-pci,netdev=net0,mac=fa:16:3e:00:00:01,id=net0-device
            -netdev tap,id=net1,fd=3
            -device virtio-net-pci,netdev=net1,mac=fa:16:3e:00:00:02,id=net1-device
            -chardev file,id=console0,path=/r/console.log,append=on
            -serial chardev:console0
            -chardev socket,id=qmp0,path=/r/qmp.sock,server=on,wait=off
            -mon chardev=qmp0,mode=control
            -pidfile /r/qemu.pid
            -incoming exec:cat '/r/it'\\''s.state'
            -S
            -daemonize
            """
        #expect(render(configuration.arguments()) == expected)
    }

    @Test("volumes render as -blockdev nodes and virtio-blk devices at their slots, after the -drive disks")
    func goldenVolumes() {
        let configuration = QEMU.MachineConfiguration(
            name: "updraft-u", uuid: "u", vcpus: 1, memoryMiB: 256, accelerator: .tcg(reason: "test"),
            disks: [.init(path: "/d/disk", format: .qcow2), .configDrive(path: "/d/disk.config")],
            volumes: [
                .init(
                    nodeName: "vol6a1f0c2e9b4d4e0f8a3b1c2d3e4f", path: "/v/volume-6a1f0c2e.qcow2", format: .qcow2,
                    serial: "6a1f0c2e-9b4d-4e0f-8", slot: 0x10),
                .init(
                    nodeName: "vol0d2c4b6a8e0f4a1b9c3d5e7f9a1b", path: "/v/a,b.raw", format: .raw, readOnly: true,
                    serial: "0d2c4b6a-8e0f-4a1b-9", slot: 0x1f),
            ],
            serialLogPath: "/d/console.log", qmpSocketPath: "/d/qmp.sock", pidFilePath: "/d/qemu.pid",
            nics: [.init(tap: .descriptor(3), mac: "fa:16:3e:00:00:01", id: "port-7a1e4c1e")])
        let expected = """
            -name updraft-u
            -uuid u
            -no-user-config
            -nodefaults
            -machine pc,accel=tcg
            -smp 1
            -m 256
            -smbios type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=u,uuid=u
            -msg timestamp=on
            -display none
            -drive file=/d/disk,format=qcow2,if=virtio,index=0
            -drive file=/d/disk.config,format=raw,if=virtio,index=1,readonly=on
            -blockdev driver=qcow2,node-name=vol6a1f0c2e9b4d4e0f8a3b1c2d3e4f,file.driver=file,file.filename=/v/volume-6a1f0c2e.qcow2
            -device virtio-blk-pci,drive=vol6a1f0c2e9b4d4e0f8a3b1c2d3e4f,id=vol6a1f0c2e9b4d4e0f8a3b1c2d3e4f-device,serial=6a1f0c2e-9b4d-4e0f-8,addr=0x10
            -blockdev driver=raw,node-name=vol0d2c4b6a8e0f4a1b9c3d5e7f9a1b,file.driver=file,file.filename=/v/a,,b.raw,read-only=on
            -device virtio-blk-pci,drive=vol0d2c4b6a8e0f4a1b9c3d5e7f9a1b,id=vol0d2c4b6a8e0f4a1b9c3d5e7f9a1b-device,serial=0d2c4b6a-8e0f-4a1b-9,addr=0x1f
            -netdev tap,id=port-7a1e4c1e,fd=3
            -device virtio-net-pci,netdev=port-7a1e4c1e,mac=fa:16:3e:00:00:01,id=port-7a1e4c1e-device
            -chardev file,id=console0,path=/d/console.log,append=on
            -serial chardev:console0
            -chardev socket,id=qmp0,path=/d/qmp.sock,server=on,wait=off
            -mon chardev=qmp0,mode=control
            -pidfile /d/qemu.pid
            -daemonize
            """
        #expect(render(configuration.arguments()) == expected)
    }

    @Test("a server booted from volume has no root -drive; its root volume has bootindex 0 at the root slot")
    func goldenBootFromVolume() {
        let configuration = QEMU.MachineConfiguration(
            name: "updraft-u", uuid: "u", vcpus: 1, memoryMiB: 256, accelerator: .tcg(reason: "test"),
            disks: [.configDrive(path: "/d/disk.config")],
            volumes: [
                .init(
                    nodeName: QEMU.MachineConfiguration.Volume.nodeName(volumeID: "6a1f0c2e-9b4d-4e0f-8a3b-1c2d3e4f5a6b"),
                    path: "/v/root.qcow2", format: .qcow2, serial: "6a1f0c2e-9b4d-4e0f-8", bootIndex: 0,
                    slot: QEMU.MachineConfiguration.Volume.rootSlot)
            ],
            serialLogPath: "/d/console.log", qmpSocketPath: "/d/qmp.sock", pidFilePath: "/d/qemu.pid", daemonize: false)
        let expected = """
            -name updraft-u
            -uuid u
            -no-user-config
            -nodefaults
            -machine pc,accel=tcg
            -smp 1
            -m 256
            -smbios type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=u,uuid=u
            -msg timestamp=on
            -display none
            -drive file=/d/disk.config,format=raw,if=virtio,index=0,readonly=on
            -blockdev driver=qcow2,node-name=vol6a1f0c2e9b4d4e0f8a3b1c2d3e4f,file.driver=file,file.filename=/v/root.qcow2
            -device virtio-blk-pci,drive=vol6a1f0c2e9b4d4e0f8a3b1c2d3e4f,id=vol6a1f0c2e9b4d4e0f8a3b1c2d3e4f-device,serial=6a1f0c2e-9b4d-4e0f-8,addr=0x2,bootindex=0
            -chardev file,id=console0,path=/d/console.log,append=on
            -serial chardev:console0
            -chardev socket,id=qmp0,path=/d/qmp.sock,server=on,wait=off
            -mon chardev=qmp0,mode=control
            -pidfile /d/qemu.pid
            """
        #expect(render(configuration.arguments()) == expected)
    }

    @Test("a volume's node name fits QEMU's 31 characters and its hot-plug arguments match its command line")
    func volumeNamesAndQMPArguments() throws {
        let name = QEMU.MachineConfiguration.Volume.nodeName(volumeID: "6a1f0c2e-9b4d-4e0f-8a3b-1c2d3e4f5a6b")
        #expect(name == "vol6a1f0c2e9b4d4e0f8a3b1c2d3e4f" && name.count == 31)
        #expect(QEMU.MachineConfiguration.Volume.nodeName(volumeID: "v-1") == "volv1")
        let volume = QEMU.MachineConfiguration.Volume(
            nodeName: name, path: "/v/a,b.raw", format: .raw, readOnly: true, serial: "6a1f0c2e-9b4d-4e0f-8", slot: 0x1a)
        #expect(volume.deviceID == name + "-device")
        #expect(
            String(decoding: try volume.blockdevArguments.serialized(), as: UTF8.self)
                == #"{"driver":"raw","file":{"driver":"file","filename":"/v/a,b.raw"},"node-name":"\#(name)","read-only":true}"#)
        #expect(
            String(decoding: try volume.deviceArguments.serialized(), as: UTF8.self)
                == #"{"addr":"0x1a","drive":"\#(name)","driver":"virtio-blk-pci","id":"\#(name)-device","serial":"6a1f0c2e-9b4d-4e0f-8"}"#
        )
        #expect(QEMU.MachineConfiguration.MachineType.pc.volumeSlots == 0x10...0x1f)
        #expect(QEMU.MachineConfiguration.MachineType.q35.volumeSlots.upperBound == 0x1e)
    }

    @Test("the guest agent's port is a virtio-serial port at its fixed slot, before the NICs QEMU places")
    func guestAgentPort() {
        var machine = QEMU.MachineConfiguration(
            name: "updraft-x", uuid: "0b5c1b6e-1f0a-4a54-9d8e-3d0f6a1e2b7c", vcpus: 1, memoryMiB: 256,
            accelerator: .tcg(reason: "test"), serialLogPath: "/i/console.log", qmpSocketPath: "/i/qmp.sock",
            pidFilePath: "/i/qemu.pid", nics: [.init(tap: .descriptor(3), mac: "fa:16:3e:00:00:01", id: "port-1")])
        #expect(!render(machine.arguments()).contains("virtserialport"))
        machine.guestAgentSocketPath = "/i/agent.sock"
        let text = render(machine.arguments())
        #expect(
            text.contains(
                """
                -device virtio-serial-pci,id=agent-serial,addr=0xf
                -chardev socket,id=agent0,path=/i/agent.sock,server=on,wait=off
                -device virtserialport,bus=agent-serial.0,chardev=agent0,name=org.qemu.guest_agent.0
                -netdev tap,id=port-1,fd=3
                """))
        #expect(QEMU.MachineConfiguration.guestAgentSlot < QEMU.MachineConfiguration.MachineType.pc.volumeSlots.lowerBound)
    }

    @Test("run states round-trip through their QMP names")
    func runStateNames() {
        for name in ["running", "paused", "inmigrate", "postmigrate", "prelaunch", "guest-panicked", "shutdown"] {
            #expect(QEMU.RunState(qmpName: name).description == name)
        }
        #expect(QEMU.RunState(qmpName: "inmigrate") == .inMigrate)
        #expect(QEMU.RunState(qmpName: "brand-new") == .other("brand-new"))
    }

    /// One option and its value per line, so a failing comparison reads like a command line.
    private func render(_ argv: [String]) -> String {
        var lines: [String] = []
        for argument in argv {
            if argument.hasPrefix("-") {
                lines.append(argument)
            } else if let last = lines.popLast() {
                lines.append(last + " " + argument)
            }
        }
        return lines.joined(separator: "\n")
    }
}

import Foundation
import Testing

@testable import GuestImage

@Suite("generated guest files")
struct RecipeTests {
    @Test("syslinux.cfg boots the kernel and initramfs at once with a serial console")
    func syslinuxConfig() {
        #expect(
            GuestImage.Recipe.syslinuxConfig() == """
                SERIAL 0 115200
                DEFAULT updraft
                PROMPT 0
                TIMEOUT 0
                LABEL updraft
                  LINUX /vmlinuz
                  INITRD /initrd
                  APPEND console=ttyS0,115200

                """)
    }

    @Test("inittab runs rcS once and a getty on ttyS0")
    func inittab() {
        let lines = GuestImage.Recipe.inittab.split(separator: "\n")
        #expect(lines.first == "::sysinit:/etc/init.d/rcS")
        #expect(lines.contains("ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100"))
    }

    @Test("updraft is a passwordless uid 0 alias with home /home/updraft")
    func passwd() throws {
        let updraft = try #require(
            GuestImage.Recipe.passwd.split(separator: "\n").first { $0.hasPrefix("updraft:") })
        let fields = updraft.split(separator: ":", omittingEmptySubsequences: false)
        #expect(fields[1] == "*")
        #expect(fields[2] == "0")
        #expect(fields[5] == "/home/updraft")
        #expect(fields[6] == "/bin/sh")
    }

    @Test("the module list is one name per line in load order")
    func moduleList() {
        #expect(GuestImage.Recipe.moduleList(["virtio", "virtio_blk"]) == "virtio\nvirtio_blk\n")
    }

    @Test("rcS prints the marker the manifest advertises and the lines compute and tests wait for")
    func rcS() {
        let script = GuestImage.GuestScripts.rcS
        #expect(script.hasPrefix("#!/bin/sh\n"))
        #expect(script.contains("echo \"\(GuestImage.bootMarker)$id\""))
        #expect(script.contains("say \"installed $count ssh keys\""))
        #expect(script.contains("say \"user_data exit $?\""))
        #expect(script.contains("/sys/class/dmi/id/product_serial"))
        #expect(GuestImage.GuestScripts.powerButton.contains("updraft: powering off"))
    }

    @Test("the kernel package is read from linux-image-amd64's Depends")
    func kernelPackage() {
        #expect(
            GuestImage.Builder.kernelPackage(fromDepends: "linux-image-6.1.0-56-amd64 (= 6.1.192-2)")
                == "linux-image-6.1.0-56-amd64")
        #expect(
            GuestImage.Builder.kernelPackage(fromDepends: "initramfs-tools, linux-image-6.1.0-9-amd64")
                == "linux-image-6.1.0-9-amd64")
        #expect(GuestImage.Builder.kernelPackage(fromDepends: "") == nil)
    }

    @Test("the partition leaves room beyond the payload, in whole MiB")
    func partitionSize() {
        let mebibyte = 1 << 20
        #expect(GuestImage.Builder.partitionSize(payload: 1) == 5 * mebibyte)
        #expect(GuestImage.Builder.partitionSize(payload: 11 * mebibyte) == 15 * mebibyte)
    }

    @Test("a missing tool names its apt package; the search path is fixed")
    func missingTool() {
        #expect(throws: GuestImage.Error.missingTool(program: "apt-get", package: "apt")) {
            try GuestImage.Toolbox.locate(searchPath: ["/nonexistent"])
        }
        #expect(
            GuestImage.Error.missingTool(program: "mcopy", package: "mtools").description
                == "mcopy not found; install it with: apt-get install mtools")
        #expect(
            GuestImage.Program.environment(sourceDateEpoch: 5)
                == [
                    "PATH": GuestImage.Program.searchPath.joined(separator: ":"), "LC_ALL": "C", "TZ": "UTC",
                    "SOURCE_DATE_EPOCH": "5",
                ])
    }

    @Test("a failing program's error keeps the end of its standard error on one line")
    func toolFailed() async throws {
        let shell = try GuestImage.Program.locate("sh", package: "dash")
        await #expect(throws: GuestImage.Error.toolFailed(program: "sh", status: 3, stderr: "one\ntwo\n")) {
            try await shell.run(["-c", "echo one >&2; echo two >&2; exit 3"], environment: [:])
        }
        let output = try await shell.run(["-c", "cat; echo \"$LC_ALL\""], environment: ["LC_ALL": "C"], input: Data("in\n".utf8))
        #expect(String(decoding: output, as: UTF8.self) == "in\nC\n")
        #expect(
            GuestImage.Error.toolFailed(program: "sh", status: 3, stderr: "one\ntwo\n").description
                == "sh exited with status 3: one / two")
    }

    @Test("every path under the root gets debugfs ctime and atime commands, a double quote doubled")
    func timeCommands() throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory() + "updraft-ctimes-" + UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: root.path + "/etc/we\"ird name", contents: Data()))
        let commands = String(
            decoding: try GuestImage.LibraryBuilder.timeCommands(under: root, epoch: 5), as: UTF8.self)
        #expect(
            commands.split(separator: "\n").sorted() == [
                #"sif "/" atime @5"#, #"sif "/" ctime @5"#, #"sif "/etc" atime @5"#, #"sif "/etc" ctime @5"#,
                #"sif "/etc/we""ird name" atime @5"#, #"sif "/etc/we""ird name" ctime @5"#,
            ])
    }
}

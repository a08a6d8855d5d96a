import Foundation
import Testing

@testable import QEMU

#if canImport(Glibc)
    import Glibc
#endif

private let pythonAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

/// The accelerator probe at the process boundary: stand-in `qemu-system-x86_64` programs that
/// misbehave as QEMU does on hosts where /dev/kvm half-works.
@Suite("the accelerator probe")
struct AcceleratorTests {
    /// Writes an executable stand-in for QEMU into `directory`.
    static func standIn(_ directory: String, _ script: String) throws -> String {
        let path = directory + "/qemu-system-x86_64"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    static func pid(in file: String) -> pid_t? {
        (try? String(contentsOfFile: file, encoding: .utf8)).flatMap {
            pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    @Test(
        "the trial firmware writes its marker when its code runs (under TCG, which always runs it)",
        .enabled(if: qemuAvailable, "qemu-system-x86_64 is not installed"))
    func firmwareRuns() async throws {
        let binary = try QEMU.locateBinary("qemu-system-x86_64")
        let outcome = await QEMU.Accelerator.runTrial(
            binary: binary, accelerator: ["-accel", "tcg"], timeout: .seconds(20), logger: .init(label: "test"))
        #expect(outcome == .ranGuestCode)
        #expect(QEMU.Accelerator.trialFirmware.count == 65536)
    }

    @Test("a trial QEMU that ignores SIGTERM and runs nothing means TCG within the deadline, and it is killed")
    func ignoresSIGTERM() async throws {
        try await withRuntimeDirectory { directory in
            let pidFile = directory + "/stand-in.pid"
            let binary = try Self.standIn(
                directory, "#!/bin/sh\necho $$ > \(pidFile)\ntrap '' TERM\nexec sleep 600\n")
            let started = ContinuousClock.now
            let decided = await QEMU.Accelerator.trial(binary: binary, timeout: .milliseconds(500))
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(decided == .tcg(reason: "a KVM guest ran no code within 0.5 seconds"))
            let pid = try #require(Self.pid(in: pidFile))
            #expect(kill(pid, 0) == -1 && errno == ESRCH, "the stand-in \(pid) is still running")
        }
    }

    @Test("a QEMU that aborts at once means TCG, with its words as the reason")
    func abortsAtOnce() async throws {
        try await withRuntimeDirectory { directory in
            let binary = try Self.standIn(
                directory,
                "#!/bin/sh\necho 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69' >&2\nexit 1\n")
            let decided = await QEMU.Accelerator.trial(binary: binary, timeout: .seconds(5))
            #expect(
                decided
                    == .tcg(
                        reason:
                            "QEMU cannot run a KVM guest here: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"))
        }
    }

    @Test(
        "a QEMU that stays up but whose QMP says internal-error means TCG, with the state and QEMU's words",
        .enabled(if: pythonAvailable, "/usr/bin/python3 is not installed"))
    func internalError() async throws {
        try await withRuntimeDirectory { directory in
            let pidFile = directory + "/stand-in.pid"
            let binary = try Self.standIn(directory, Self.internalErrorQEMU(pidFile: pidFile))
            let started = ContinuousClock.now
            let decided = await QEMU.Accelerator.trial(binary: binary, timeout: .seconds(10))
            #expect(ContinuousClock.now - started < .seconds(8), "decided by QMP, not by the deadline")
            guard case .tcg(let reason) = decided else {
                Issue.record("expected TCG, got \(decided)")
                return
            }
            #expect(reason.contains("internal-error"))
            #expect(reason.contains("KVM internal error. Suberror: 1"))
            let pid = try #require(Self.pid(in: pidFile))
            #expect(kill(pid, 0) == -1 && errno == ESRCH)
        }
    }

    @Test("without a usable /dev/kvm the probe says why and starts nothing")
    func noDevice() async {
        let probe = await QEMU.Accelerator.probe(binary: "/nonexistent/qemu", devicePath: "/nonexistent/kvm")
        #expect(probe.accelerator == .tcg(reason: "cannot open /nonexistent/kvm: No such file or directory"))
        #expect(probe.description.hasPrefix("accelerator tcg (cannot open /nonexistent/kvm"))
    }

    /// A Python stand-in: serves QMP on the socket QEMU would, reporting `internal-error`
    /// as a QEMU does when KVM lets a VM be made but cannot run its vCPU.
    static func internalErrorQEMU(pidFile: String) -> String {
        """
        #!/usr/bin/python3
        import json, os, socket, sys
        open("\(pidFile)", "w").write(str(os.getpid()))
        args = sys.argv[1:]
        path = next(p[5:] for i, a in enumerate(args) if a == "-chardev" and "id=qmp0" in args[i + 1]
                    for p in args[i + 1].split(",") if p.startswith("path="))
        sys.stderr.write("KVM internal error. Suberror: 1\\n")
        sys.stderr.flush()
        server = socket.socket(socket.AF_UNIX)
        server.bind(path)
        server.listen(1)
        def serve(conn):
            stream = conn.makefile("rw")
            stream.write(json.dumps({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}},
                                             "capabilities": []}}) + "\\r\\n")
            stream.flush()
            for line in stream:
                message = json.loads(line)
                answer = {"status": "internal-error", "running": False} if message["execute"] == "query-status" else {}
                stream.write(json.dumps({"return": answer, "id": message.get("id")}) + "\\r\\n")
                stream.flush()
        while True:
            conn, _ = server.accept()
            try:
                serve(conn)  # a client that only checks the socket hangs up at once, as QEMU allows
            except OSError:
                pass
            conn.close()
        """
    }
}

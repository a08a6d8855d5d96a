import Foundation
import Testing

@testable import HostProcess

#if canImport(Glibc)
    import Glibc
#endif

@Suite("starting external programs")
struct HostProcessTests {
    static let shell = "/bin/sh"

    static func text(_ data: Data) -> String {
        String(decoding: data, as: UTF8.self)
    }

    @Test("a program starts with no blocked and no ignored signals, whatever the caller's threads block")
    func cleanSignalState() async throws {
        // Swift's threads block SIGTERM; block and ignore more here to be sure nothing leaks.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        sigaddset(&blocked, SIGUSR1)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let result = try await HostProcess.run(
            Self.shell, ["-c", "grep -E '^Sig(Blk|Ign):' /proc/self/status"], timeout: .seconds(10))
        #expect(result.status == .exited(0))
        let masks = Self.text(result.output).split(separator: "\n").compactMap {
            $0.split(separator: "\t").last.flatMap { UInt64($0, radix: 16) }
        }
        // Signals 1-31; glibc's posix_spawn itself leaves its two internal real-time signals ignored.
        let standard: UInt64 = 0x7fff_ffff
        #expect(masks.count == 2 && masks.allSatisfy { $0 & standard == 0 }, "SigBlk, SigIgn: \(masks)")
    }

    @Test("a program gets only the minimal environment and none of the caller's open descriptors")
    func minimalEnvironmentAndDescriptors() async throws {
        let leaked = open("/dev/null", O_RDONLY)  // not O_CLOEXEC: it would leak without closefrom
        defer { close(leaked) }
        let environment = try await HostProcess.run("/usr/bin/env", [], timeout: .seconds(10))
        #expect(
            Self.text(environment.output).split(separator: "\n")
                == ["LC_ALL=C", "PATH=\(HostProcess.minimalEnvironment["PATH"] ?? "")"])
        let probe = try await HostProcess.run(
            Self.shell, ["-c", "if [ -e /proc/self/fd/\(leaked) ]; then echo leaked; else echo closed; fi"],
            timeout: .seconds(10))
        #expect(Self.text(probe.output) == "closed\n")
    }

    @Test("descriptors handed on arrive as 3, 4, ... in order, even when their numbers are low")
    func inheritedDescriptors() async throws {
        var first: [Int32] = [0, 0]
        var second: [Int32] = [0, 0]
        #expect(pipe(&first) == 0)
        #expect(pipe(&second) == 0)
        defer { for fd in first + second { close(fd) } }
        // The second pipe's write end goes to 3 and the first's to 4: the order given, not the numbers.
        let child = try HostProcess.spawn(
            Self.shell, ["-c", "echo three >&3; echo four >&4"], options: .init(inherit: [second[1], first[1]]))
        #expect(await child.wait(timeout: .seconds(10)) == .exited(0))
        close(first[1])
        close(second[1])
        first[1] = -1
        second[1] = -1
        func read(_ fd: Int32) -> String {
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = Glibc.read(fd, &buffer, buffer.count)
            return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        }
        #expect(read(second[0]) == "three\n")
        #expect(read(first[0]) == "four\n")
    }

    @Test("exit codes and signals are reported as the shell reports them")
    func statuses() async throws {
        #expect(try await HostProcess.run(Self.shell, ["-c", "exit 3"], timeout: .seconds(10)).status == .exited(3))
        let killed = try await HostProcess.run(Self.shell, ["-c", "kill -9 $$"], timeout: .seconds(10)).status
        #expect(killed == .signalled(SIGKILL))
        #expect(killed.code == 137)
    }

    @Test("input, working directory, a megabyte of output and standard error all arrive")
    func inputAndOutput() async throws {
        let directory = try HostProcess.makePrivateDirectory(prefix: "updraft-test-hostprocess")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await HostProcess.run(
            Self.shell, ["-c", "pwd; cat; head -c 1048576 /dev/zero | tr '\\0' x; echo oops >&2"], directory: directory,
            input: Data("hello\n".utf8), timeout: .seconds(20))
        let output = Self.text(result.output)
        #expect(output.hasPrefix(directory + "\nhello\n"))
        #expect(output.count == directory.count + 7 + 1_048_576)
        #expect(result.errorText == "oops")
        var info = stat()
        #expect(stat(directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
    }

    @Test("a program that ignores SIGTERM is killed at its deadline, with the helpers it started")
    func deadlineKillsTheGroup() async throws {
        let started = ContinuousClock.now
        await #expect(throws: HostProcess.Error.self) {
            _ = try await HostProcess.run(
                Self.shell, ["-c", "trap '' TERM; sleep 60 & sleep 60"], timeout: .milliseconds(300),
                killGrace: .milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(5))

        let child = try HostProcess.spawn(Self.shell, ["-c", "trap '' TERM; sleep 60 & sleep 60"])
        #expect(await child.wait(timeout: .milliseconds(100)) == nil)
        #expect(await child.terminate(grace: .milliseconds(200)) == .signalled(SIGKILL))
        // The group is gone too: the background sleep did not survive its parent.
        #expect(await Self.groupEnds(child.pid))
    }

    /// Whether process group `group` has no live member within two seconds (an orphan killed
    /// with its group may stay a zombie until init reaps it).
    static func groupEnds(_ group: pid_t) async -> Bool {
        for _ in 0..<100 {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            let live = entries.filter { Int32($0) != nil }.contains { pid in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")")
                else { return false }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 2 && fields[0] != "Z" && pid_t(fields[2]) == group
            }
            if !live { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test("a program that honours SIGTERM ends with it")
    func terminateGently() async throws {
        let child = try HostProcess.spawn("/bin/sleep", ["60"])
        #expect(await child.terminate(grace: .seconds(5)) == .signalled(SIGTERM))
    }

    @Test("binaries are found on the fixed search path, and missing ones are named")
    func locate() throws {
        #expect(try HostProcess.locate("sh").hasSuffix("/sh"))
        #expect(throws: HostProcess.Error.notFound("updraft-no-such-tool")) {
            try HostProcess.locate("updraft-no-such-tool")
        }
        #expect(throws: HostProcess.Error.self) { try HostProcess.spawn("/nonexistent/tool", []) }
    }
}

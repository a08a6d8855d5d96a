import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension HostProcess {
    /// A program that ran to completion.
    public struct Result: Sendable {
        public var status: Status
        /// Standard output (empty when it went to a file).
        public var output: Data
        public var errorOutput: Data

        /// Standard error as text, trimmed, for error messages.
        public var errorText: String {
            String(decoding: errorOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Runs `executable` to completion within `timeout` and collects what it wrote.
    ///
    /// Output goes through files in a private 0700 directory, never pipes, so a chatty
    /// program cannot stall on a full pipe while we wait for it. On the deadline the
    /// program's process group gets SIGTERM, then SIGKILL after `killGrace`.
    ///
    /// - Parameters:
    ///   - input: bytes for standard input; /dev/null when nil.
    ///   - outputFile: a file for standard output instead of returning it.
    /// - Throws: ``Error/launch(program:reason:)`` when it cannot start,
    ///   ``Error/timedOut(program:after:output:)`` when it overruns. A non-zero exit is
    ///   not an error here: it is in ``Result/status``.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = minimalEnvironment,
        directory: String? = nil, input: Data? = nil, outputFile: String? = nil, timeout: Duration,
        killGrace: Duration = .seconds(2)
    ) async throws -> Result {
        let scratch = try makePrivateDirectory(prefix: "updraft-run")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let stdoutPath = outputFile ?? scratch + "/stdout"
        let stderrPath = scratch + "/stderr"
        var stdin = Input.null
        if let input {
            let path = scratch + "/stdin"
            guard FileManager.default.createFile(atPath: path, contents: input) else {
                throw Error.system("cannot write \(path)")
            }
            stdin = .file(path)
        }
        let options = Options(
            environment: environment, directory: directory, input: stdin, output: .truncate(stdoutPath),
            errorOutput: .truncate(stderrPath))
        let child = try spawn(executable, arguments, options: options)
        guard let status = await child.wait(timeout: timeout) else {
            await child.terminate(grace: killGrace)
            throw Error.timedOut(program: executable, after: timeout, output: tail(of: stderrPath, lines: 5))
        }
        let output = outputFile == nil ? (FileManager.default.contents(atPath: stdoutPath) ?? Data()) : Data()
        return Result(status: status, output: output, errorOutput: FileManager.default.contents(atPath: stderrPath) ?? Data())
    }

    /// Creates a new 0700 directory `/tmp/PREFIX.XXXXXX` (or under `parent`) and returns its path.
    public static func makePrivateDirectory(prefix: String, in parent: String = NSTemporaryDirectory()) throws -> String {
        let base = parent.hasSuffix("/") ? String(parent.dropLast()) : parent
        var template = Array((base + "/" + prefix + ".XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        guard let made else {
            throw Error.system("mkdtemp in \(base): \(String(cString: strerror(errno)))")
        }
        return made
    }

    /// The last `lines` lines of a text file joined with ` | `, for error messages.
    public static func tail(of path: String, lines: Int) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: " | ")
    }
}

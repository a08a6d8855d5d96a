import Foundation

extension GuestImage {
    /// One external program the build runs: found on a fixed search path, run with a minimal
    /// environment, its standard error kept for the error message when it fails.
    struct Program: Sendable {
        /// The directories searched, in order; the caller's `PATH` is not consulted.
        static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

        /// The command name, e.g. `mkfs.fat`.
        let name: String
        /// The Debian package that provides it, named in the error when it is missing.
        let package: String
        /// Its absolute path.
        let path: String

        /// Finds `name` on ``searchPath``.
        ///
        /// - Throws: ``GuestImage/Error/missingTool(program:package:)`` when it is not installed.
        static func locate(_ name: String, package: String, searchPath: [String] = searchPath) throws -> Program {
            for directory in searchPath {
                let candidate = directory + "/" + name
                if FileManager.default.isExecutableFile(atPath: candidate) {
                    return Program(name: name, package: package, path: candidate)
                }
            }
            throw GuestImage.Error.missingTool(program: name, package: package)
        }

        /// The environment every program gets: no locale, no proxy, no user settings, UTC.
        static func environment(sourceDateEpoch: Int?, extra: [String: String] = [:]) -> [String: String] {
            var environment = ["PATH": searchPath.joined(separator: ":"), "LC_ALL": "C", "TZ": "UTC"]
            if let epoch = sourceDateEpoch {
                environment["SOURCE_DATE_EPOCH"] = String(epoch)
            }
            return environment.merging(extra) { _, new in new }
        }

        /// Runs the program to completion and returns its standard output.
        ///
        /// - Parameters:
        ///   - arguments: the arguments after the program name.
        ///   - directory: the working directory, default the caller's.
        ///   - environment: the whole environment (see ``environment(sourceDateEpoch:extra:)``).
        ///   - input: bytes for standard input; nothing when nil.
        ///   - output: a file for standard output instead of returning it.
        /// - Throws: ``GuestImage/Error/toolFailed(program:status:stderr:)`` on a non-zero exit.
        @discardableResult
        func run(
            _ arguments: [String], in directory: URL? = nil, environment: [String: String], input: Data? = nil,
            output: URL? = nil
        ) async throws -> Data {
            let scratch = FileManager.default.temporaryDirectory
                .appendingPathComponent("updraft-guest-\(UUID().uuidString)", isDirectory: true)
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let stdoutURL = output ?? scratch.appendingPathComponent("stdout")
            let stderrURL = scratch.appendingPathComponent("stderr")
            let stdinURL = scratch.appendingPathComponent("stdin")
            try (input ?? Data()).write(to: stdinURL)
            for url in [stdoutURL, stderrURL] where !FileManager.default.createFile(atPath: url.path, contents: nil) {
                throw GuestImage.Error.package("cannot create \(url.path)")
            }
            let stdout = try FileHandle(forWritingTo: stdoutURL)
            let stderr = try FileHandle(forWritingTo: stderrURL)
            let stdin = try FileHandle(forReadingFrom: stdinURL)
            defer {
                try? stdout.close()
                try? stderr.close()
                try? stdin.close()
            }

            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.environment = environment
            if let directory {
                process.currentDirectoryURL = directory
            }
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = stderr
            let status: Int32 = try await withCheckedThrowingContinuation { continuation in
                process.terminationHandler = { finished in
                    continuation.resume(returning: finished.terminationStatus)
                }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: error)
                }
            }
            guard status == 0 else {
                let message = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
                throw GuestImage.Error.toolFailed(program: name, status: status, stderr: message)
            }
            return output == nil ? try Data(contentsOf: stdoutURL) : Data()
        }
    }
}

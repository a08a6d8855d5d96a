import Foundation
import HostProcess

extension GuestImage {
    /// One external program the build runs: found on a fixed search path, run with a minimal
    /// environment, its standard error kept for the error message when it fails.
    struct Program: Sendable {
        /// The directories searched, in order; the caller's `PATH` is not consulted.
        static let searchPath = HostProcess.defaultSearchPath

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
            guard let path = try? HostProcess.locate(name, searchPath: searchPath) else {
                throw GuestImage.Error.missingTool(program: name, package: package)
            }
            return Program(name: name, package: package, path: path)
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
        ///   - timeout: how long it may run before it is stopped (package downloads are the slowest step).
        /// - Throws: ``GuestImage/Error/toolFailed(program:status:stderr:)`` on a non-zero exit or an overrun.
        @discardableResult
        func run(
            _ arguments: [String], in directory: URL? = nil, environment: [String: String], input: Data? = nil,
            output: URL? = nil, timeout: Duration = .seconds(1800)
        ) async throws -> Data {
            try await finished(
                arguments, in: directory, environment: environment, input: input, output: output, timeout: timeout
            ).output
        }

        /// Runs a program that reports a failed command on standard error and still exits 0
        /// (debugfs's `-f`); returns its standard error. Throws as ``run(_:in:environment:input:output:timeout:)``.
        func runForErrors(_ arguments: [String], environment: [String: String]) async throws -> String {
            String(decoding: try await finished(arguments, environment: environment).errorOutput, as: UTF8.self)
        }

        private func finished(
            _ arguments: [String], in directory: URL? = nil, environment: [String: String], input: Data? = nil,
            output: URL? = nil, timeout: Duration = .seconds(1800)
        ) async throws -> HostProcess.Result {
            let result: HostProcess.Result
            do {
                result = try await HostProcess.run(
                    path, arguments, environment: environment, directory: directory?.path, input: input,
                    outputFile: output?.path, timeout: timeout)
            } catch let error as HostProcess.Error {
                throw GuestImage.Error.toolFailed(program: name, status: -1, stderr: error.description)
            }
            guard result.status == .exited(0) else {
                throw GuestImage.Error.toolFailed(
                    program: name, status: result.status.code, stderr: String(decoding: result.errorOutput, as: UTF8.self))
            }
            return result
        }
    }
}

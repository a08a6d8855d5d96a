import Foundation

extension QEMU {
    /// Where binaries given by bare name are looked for. Fixed rather than read from
    /// `PATH`, so what runs does not depend on who started `updraft`.
    public static let defaultSearchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// The environment every QEMU program runs with; nothing of the caller's leaks in.
    static let minimalEnvironment = ["PATH": defaultSearchPath.joined(separator: ":"), "LC_ALL": "C"]

    /// Resolves `nameOrPath` to an executable file: a path containing `/` is checked as
    /// given, a bare name is looked up in `searchPath`.
    public static func locateBinary(_ nameOrPath: String, searchPath: [String] = defaultSearchPath) throws -> String {
        let manager = FileManager.default
        if nameOrPath.contains("/") {
            guard manager.isExecutableFile(atPath: nameOrPath) else { throw Error.binaryNotFound(nameOrPath) }
            return nameOrPath
        }
        for directory in searchPath {
            let candidate = directory + "/" + nameOrPath
            if manager.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw Error.binaryNotFound(nameOrPath)
    }

    /// The outcome of a finished helper program.
    struct ToolResult: Sendable {
        var status: Int32
        var output: Data
        var errorOutput: Data
    }

    /// Runs `executable` to completion with the minimal environment, stdin from /dev/null,
    /// and collects its output. Throws only when it cannot be started.
    static func run(_ executable: String, _ arguments: [String]) async throws -> ToolResult {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = minimalEnvironment
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        let errorOutput = Pipe()
        process.standardOutput = output
        process.standardError = errorOutput
        let outputReader = output.fileHandleForReading
        let errorReader = errorOutput.fileHandleForReading
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in
                continuation.resume(returning: process.terminationStatus)
            }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: Error.launch("\(executable): \(error)"))
            }
        }
        let stdout = (try? outputReader.readToEnd()) ?? Data()
        let stderr = (try? errorReader.readToEnd()) ?? Data()
        return ToolResult(status: status, output: stdout, errorOutput: stderr)
    }

    /// Runs a helper that must succeed; a non-zero exit throws ``Error/tool(program:status:output:)``
    /// with its stderr. Returns its stdout.
    @discardableResult
    static func runChecked(_ executable: String, _ arguments: [String]) async throws -> Data {
        let result = try await run(executable, arguments)
        guard result.status == 0 else {
            let message = String(decoding: result.errorOutput, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw Error.tool(
                program: URL(fileURLWithPath: executable).lastPathComponent, status: result.status, output: message)
        }
        return result.output
    }
}

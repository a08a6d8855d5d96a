import Foundation
import HostProcess

extension QEMU {
    /// How long a helper (`qemu-img`, `genisoimage`, `qemu-system --version`) may run before
    /// it is stopped: long enough to convert a large image, never forever.
    static let toolTimeout: Duration = .seconds(3600)

    /// Resolves `nameOrPath` to an executable file (see ``HostProcess/locate(_:searchPath:)``).
    public static func locateBinary(_ nameOrPath: String) throws -> String {
        do {
            return try HostProcess.locate(nameOrPath)
        } catch {
            throw Error.binaryNotFound(nameOrPath)
        }
    }

    /// Runs a helper that must succeed within `timeout`; a non-zero exit throws
    /// ``Error/tool(program:status:output:)`` with its stderr. Returns its stdout.
    @discardableResult
    static func runChecked(_ executable: String, _ arguments: [String], timeout: Duration = toolTimeout)
        async throws -> Data
    {
        let program = URL(fileURLWithPath: executable).lastPathComponent
        let result: HostProcess.Result
        do {
            result = try await HostProcess.run(executable, arguments, timeout: timeout)
        } catch let error as HostProcess.Error {
            switch error {
            case .timedOut: throw Error.timeout(error.description)
            default: throw Error.launch(error.description)
            }
        }
        guard result.status == .exited(0) else {
            throw Error.tool(program: program, status: result.status.code, output: result.errorText)
        }
        return result.output
    }
}

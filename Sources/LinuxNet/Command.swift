import Foundation
import HostProcess

extension LinuxNet {
    /// How long one `ip`, `nft` or `sysctl` may take: they answer in milliseconds, so a
    /// program still running after this is stuck, and start-up must never wait on it.
    static let commandTimeout: Duration = .seconds(20)

    /// Runs `program` (`ip`, `nft`, ...), inside `namespace` when given (`ip netns exec`), and
    /// returns its standard output; a non-zero exit throws ``Error/command(program:arguments:status:output:)``.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], in namespace: String? = nil, input: String? = nil)
        async throws -> String
    {
        var executable = try locate(program)
        var argv = arguments
        if let namespace {
            argv = ["netns", "exec", namespace, executable] + arguments
            executable = try locate("ip")
        }
        let result: HostProcess.Result
        do {
            result = try await HostProcess.run(
                executable, argv, input: input.map { Data($0.utf8) }, timeout: commandTimeout)
        } catch let error as HostProcess.Error {
            switch error {
            case .timedOut: throw Error.timeout("\(program) \(arguments.joined(separator: " "))")
            default: throw Error.programNotFound(program)
            }
        }
        guard result.status == .exited(0) else {
            throw Error.command(
                program: program, arguments: arguments, status: result.status.code, output: result.errorText)
        }
        return String(decoding: result.output, as: UTF8.self)
    }

    /// The path of `program` on the fixed search path (`/usr/sbin`, `/sbin`, ...).
    static func locate(_ program: String) throws -> String {
        do {
            return try HostProcess.locate(program)
        } catch {
            throw Error.programNotFound(program)
        }
    }

    /// Whether every program the dataplane drives is installed: `ip`, `nft`, `dnsmasq`, `sysctl`.
    public static func missingPrograms() -> [String] {
        ["ip", "nft", "dnsmasq", "dhcp_release", "sysctl"].filter { (try? locate($0)) == nil }
    }
}

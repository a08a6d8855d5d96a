import ArgumentParser
import Foundation
import Logging
import UpdraftCore
import UpdraftIdentity
import UpdraftServer

@main
struct Updraft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "updraft",
        abstract: "A research and education cloud in one binary.",
        subcommands: [Serve.self, Admin.self, ImageCommand.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve every service of the cloud on one HTTP port.")

    @Option(help: "Directory for the database, keys and generated client files.")
    var dataDir: String = "./updraft-data"

    @Option(help: "TCP port to listen on.")
    var port: Int = 5000

    @Option(help: "Address to bind.")
    var bind: String = "127.0.0.1"

    @Option(help: "Public base URL for the catalog (default: http://BIND:PORT).")
    var publicURL: String?

    @Option(help: "Database URL: postgres://user:pass@host:port/db, or sqlite:PATH (default: SQLite in the data directory).")
    var database: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Hypervisor driver: qemu (real virtual machines), or fake (nothing runs; for tests and scale simulation).")
    var hypervisor: String = "qemu"

    @Option(help: "How guests run: auto (KVM if a trial guest runs under it, else TCG), kvm, or tcg.")
    var accelerator: String = "auto"

    @Option(help: "The QEMU system emulator, by name or path.")
    var qemuBinary: String = "qemu-system-x86_64"

    @Flag(
        inversion: .prefixedNo,
        help: """
            Serve networking (Neutron) with tenant networks carried by this machine's Linux (default: on when \
            running as root with ip, nft, dnsmasq and dhcp_release installed).
            """)
    var networking: Bool?

    @Option(help: "The external network made on first start, where floating IPs come from; the host holds its gateway.")
    var externalCidr: String = "198.18.0.0/24"

    @Option(help: "A program run once per accounting notice with the notice as JSON on its standard input (e-mail).")
    var noticeCommand: String?

    @Flag(help: "Give each first-time user a trial project: 1,000 SUs for 6 months on m3.tiny and m3.small.")
    var trialAllocations = false

    @Option(
        parsing: .upToNextOption,
        help: "Library images to publish as featured images at start (built first by `updraft image build NAME`).")
    var featured: [String] = []

    @Option(
        help: ArgumentHelp(
            "A JSON file every guest reads as its vendor data (vendor_data.json), like Nova's vendordata_jsonfile_path.",
            discussion: """
                A JSON object; cloud-init applies its "cloud-init" member (a #cloud-config) before the user's data. \
                Read at start: servers booted after a restart get the new file.
                """))
    var vendorData: String?

    @Option(
        help: ArgumentHelp(
            "For end-to-end tests only: a clock that stands at this ISO 8601 time until the accounting API moves it.",
            discussion: "Refused unless UPDRAFT_ALLOW_TEST_CLOCK=1 is in the environment."))
    var testClock: String?

    func run() async throws {
        // Logs go to standard output; standard error carries only the one line that explains an exit.
        LoggingSystem.bootstrap(StreamLogHandler.standardOutput)
        var logger = Logger(label: "updraft")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var configuration = UpdraftServer.Configuration(dataDirectory: absolute(dataDir))
        configuration.port = port
        configuration.bind = bind
        configuration.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        configuration.databaseURL = database
        guard let driver = UpdraftServer.Configuration.Hypervisor(rawValue: hypervisor) else {
            FileHandle.standardError.write(Data("updraft: unknown hypervisor \(hypervisor): use qemu or fake\n".utf8))
            throw ExitCode(1)
        }
        configuration.hypervisor = driver
        guard let choice = UpdraftServer.Configuration.Accelerator(rawValue: accelerator) else {
            FileHandle.standardError.write(Data("updraft: unknown accelerator \(accelerator): use auto, kvm or tcg\n".utf8))
            throw ExitCode(1)
        }
        configuration.accelerator = choice
        configuration.qemuBinary = qemuBinary
        let missing = UpdraftServer.networkingUnavailable()
        if networking == true, let missing {
            FileHandle.standardError.write(Data("updraft: networking needs \(missing)\n".utf8))
            throw ExitCode(1)
        }
        configuration.networking = networking ?? (missing == nil)
        if networking == nil, let missing { logger.notice("networking is off: it needs \(missing)") }
        configuration.network.externalCIDR = externalCidr
        if trialAllocations { configuration.accounting.trial = .init() }
        configuration.featuredImages = featured
        if let vendorData {
            do {
                configuration.compute.vendorData = try Self.vendorData(absolute(vendorData))
            } catch {
                FileHandle.standardError.write(Data("updraft: --vendor-data \(vendorData): \(oneLine(error))\n".utf8))
                throw ExitCode(1)
            }
        }
        configuration.noticeCommand = noticeCommand.map { $0.contains("/") ? absolute($0) : $0 }
        if let testClock {
            guard ProcessInfo.processInfo.environment["UPDRAFT_ALLOW_TEST_CLOCK"] == "1" else {
                FileHandle.standardError.write(
                    Data("updraft: --test-clock is for tests only; set UPDRAFT_ALLOW_TEST_CLOCK=1 to use it\n".utf8))
                throw ExitCode(1)
            }
            guard let start = Timestamp.parse(testClock) else {
                FileHandle.standardError.write(Data("updraft: --test-clock \(testClock) is not an ISO 8601 time\n".utf8))
                throw ExitCode(1)
            }
            configuration.testClockStart = start
            logger.warning("running on a test clock: accounting time moves only when the test-clock API moves it")
        }
        do {
            try await UpdraftServer.run(configuration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("updraft: \(oneLine(error))\n".utf8))
            throw ExitCode(1)
        }
    }
}

extension Serve {
    /// The file's bytes, once they are known to be a JSON object.
    static func vendorData(_ path: String) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw VendorDataError.notAnObject
        }
        return data
    }

    enum VendorDataError: Error, CustomStringConvertible {
        case notAnObject
        var description: String { "not a JSON object" }
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operator tasks on a data directory.",
        subcommands: [RotateKeys.self, Routes.self, RemoveNetwork.self, Report.self])

    struct RotateKeys: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-keys", abstract: "Rotate the token keys: the staged key becomes primary.")

        @Option(help: "The cloud's data directory.")
        var dataDir: String = "./updraft-data"

        func run() throws {
            let repository = try KeyRepository.rotate(.init(directory: absolute(dataDir) + "/keys/tokens"))
            print("updraft: token keys rotated; \(repository.keys.count) keys active")
        }
    }
}

extension Admin {
    /// Removes what the networking dataplane of a (stopped) cloud made on this machine.
    struct RemoveNetwork: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-network",
            abstract: "Remove the namespaces, bridges and DHCP servers a stopped cloud made on this machine.")

        @Option(help: "The cloud's data directory.")
        var dataDir: String = "./updraft-data"

        func run() async throws {
            var logger = Logger(label: "updraft")
            logger.logLevel = .warning
            do {
                try await UpdraftServer.removeNetworking(dataDirectory: absolute(dataDir), logger: logger)
            } catch {
                FileHandle.standardError.write(Data("updraft: \(oneLine(error))\n".utf8))
                throw ExitCode(1)
            }
            print("updraft: networking of \(absolute(dataDir)) removed")
        }
    }

    /// Lists every route the server registers, read from the router itself, so tools that
    /// walk the API (the bad-input stage of the tests) cover a new route the day it is added.
    struct Routes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print every HTTP route the server registers, one 'METHOD /path access' a line: access is who the "
                + "route lets in before its handler runs (anyone, authenticated, member, admin).")

        func run() async throws {
            let directory = NSTemporaryDirectory() + "updraft-routes-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var configuration = UpdraftServer.Configuration(dataDirectory: directory)
            configuration.hypervisor = .fake
            configuration.dataplane = .fake
            configuration.networking = true
            configuration.guestImageCache = directory + "/no-guest-image"
            var logger = Logger(label: "updraft")
            logger.logLevel = .error
            let parts = try await UpdraftServer.assemble(configuration, logger: logger)
            let lines = parts.routeList
            await parts.database.close()
            print(lines.joined(separator: "\n"))
        }
    }
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// One line an operator can act on.
func oneLine(_ error: any Error) -> String {
    var text: String
    if let error = error as? UpdraftError {
        text = error.message
    } else {
        text = "\(error)"
    }
    if text.contains("Address already in use") || text.contains("errno: 98") {
        text = "cannot listen: address already in use (\(text))"
    }
    return text.replacingOccurrences(of: "\n", with: " ")
}

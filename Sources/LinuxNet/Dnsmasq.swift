import Foundation

extension LinuxNet {
    /// One dnsmasq serving DHCP (no DNS) on one interface of a namespace, with static leases
    /// only: a port's address comes from the hosts file Updraft writes, never from a pool, so
    /// the port table is the only truth. A new or removed port is a rewrite of the hosts file
    /// and a SIGHUP, never a restart.
    public struct Dnsmasq: Sendable {
        /// A route handed out (option 121).
        public struct Route: Sendable, Equatable {
            public var destination: String
            public var nextHop: String

            public init(destination: String, nextHop: String) {
                self.destination = destination
                self.nextHop = nextHop
            }
        }

        /// One subnet served.
        public struct Subnet: Sendable, Equatable {
            /// `10.0.0.0`.
            public var network: String
            /// `255.255.255.0` (IPv4) or the prefix length (IPv6).
            public var mask: String
            public var gateway: String?
            public var dnsServers: [String]
            /// Routes handed out (option 121), such as `169.254.169.254/32` via `10.0.0.2`.
            public var routes: [Route]
            public var mtu: Int?

            public init(
                network: String, mask: String, gateway: String?, dnsServers: [String] = [],
                routes: [Route] = [], mtu: Int? = nil
            ) {
                self.network = network
                self.mask = mask
                self.gateway = gateway
                self.dnsServers = dnsServers
                self.routes = routes
                self.mtu = mtu
            }
        }

        /// A static lease: this MAC gets this address and name.
        public struct Host: Sendable, Equatable, Hashable {
            public var mac: String
            public var address: String
            public var hostname: String

            public init(mac: String, address: String, hostname: String) {
                self.mac = mac
                self.address = address
                self.hostname = hostname
            }
        }

        /// The namespace and interface it serves on.
        public var namespace: String
        public var interface: String
        /// Its own directory: pid, hosts, options, leases and log files. It is readable by all
        /// (mode 0755): dnsmasq reads the hosts and options after dropping to `nobody`, and
        /// they hold only MACs, addresses and names.
        public var directory: String

        public init(namespace: String, interface: String, directory: String) {
            self.namespace = namespace
            self.interface = interface
            self.directory = directory
        }

        var pidFile: String { directory + "/dnsmasq.pid" }
        var hostsFile: String { directory + "/hosts" }
        var optionsFile: String { directory + "/options" }
        var leaseFile: String { directory + "/leases" }
        var logFile: String { directory + "/dnsmasq.log" }

        /// Starts dnsmasq for `subnets`, or, when it runs already, rewrites its files and
        /// reloads it. It daemonizes, so it outlives a restart of Updraft and is adopted from
        /// its pid file.
        public func start(subnets: [Subnet], hosts: [Host]) async throws {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let gone = Set(readHosts()).subtracting(hosts)
            try write(hosts: hosts)
            try write(options: subnets)
            let arguments = Self.arguments(subnets: subnets, interface: interface, directory: directory)
            let signature = directory + "/arguments"
            let previous = try? String(contentsOfFile: signature, encoding: .utf8)
            if let pid = runningPID() {
                if previous == arguments.joined(separator: "\n") {
                    // A removed port's lease would keep its address from the next port given it
                    // ("not using configured address"): release it, as Neutron's DHCP agent does.
                    for host in gone.sorted(by: { $0.address < $1.address }) {
                        _ = try? await run("dhcp_release", [interface, host.address, host.mac], in: namespace)
                    }
                    kill(pid, SIGHUP)
                    return
                }
                try await stop()
            }
            try arguments.joined(separator: "\n").write(toFile: signature, atomically: true, encoding: .utf8)
            try await run("dnsmasq", arguments, in: namespace)
        }

        /// Ends dnsmasq (SIGTERM, then SIGKILL after a second); one that is not running is fine.
        public func stop() async throws {
            guard let pid = runningPID() else { return }
            kill(pid, SIGTERM)
            for _ in 0..<20 {
                if runningPID() == nil { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            kill(pid, SIGKILL)
        }

        /// The pid of this dnsmasq when it runs: read from its pid file and checked against
        /// `/proc`, so a recycled pid is never signalled.
        public func runningPID() -> pid_t? {
            guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
                let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { return nil }
            let words = String(decoding: cmdline, as: UTF8.self).split(separator: "\0")
            guard words.first?.hasSuffix("dnsmasq") == true, words.contains(where: { $0.contains(pidFile) }) else {
                return nil
            }
            return pid
        }

        /// dnsmasq's command line: DHCP only (`--port=0`), bound to one interface, static
        /// leases from the hosts file, options from the options file.
        static func arguments(subnets: [Subnet], interface: String, directory: String) -> [String] {
            var arguments = [
                "--conf-file=/dev/null", "--port=0", "--no-hosts", "--no-resolv", "--bind-interfaces",
                "--interface=\(interface)", "--except-interface=lo", "--pid-file=\(directory)/dnsmasq.pid",
                "--dhcp-hostsfile=\(directory)/hosts", "--dhcp-optsfile=\(directory)/options",
                "--dhcp-leasefile=\(directory)/leases", "--log-facility=\(directory)/dnsmasq.log",
                "--dhcp-authoritative", "--dhcp-no-override", "--leasefile-ro", "--log-dhcp",
            ]
            for (index, subnet) in subnets.enumerated() {
                arguments.append("--dhcp-range=set:subnet\(index),\(subnet.network),static,\(subnet.mask),86400s")
            }
            return arguments
        }

        /// The static leases the hosts file holds now.
        func readHosts() -> [Host] {
            guard let text = try? String(contentsOfFile: hostsFile, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: ",").map(String.init)
                return fields.count == 3 ? Host(mac: fields[0], address: fields[1], hostname: fields[2]) : nil
            }
        }

        func write(hosts: [Host]) throws {
            let text = hosts.map { "\($0.mac),\($0.address),\($0.hostname)" }.joined(separator: "\n") + "\n"
            try text.write(toFile: hostsFile, atomically: true, encoding: .utf8)
        }

        func write(options subnets: [Subnet]) throws {
            var lines: [String] = []
            for (index, subnet) in subnets.enumerated() {
                let tag = "tag:subnet\(index)"
                lines.append(subnet.gateway.map { "\(tag),option:router,\($0)" } ?? "\(tag),option:router")
                if !subnet.dnsServers.isEmpty {
                    lines.append("\(tag),option:dns-server,\(subnet.dnsServers.joined(separator: ","))")
                }
                if let mtu = subnet.mtu { lines.append("\(tag),option:mtu,\(mtu)") }
                var routes = subnet.routes.map { "\($0.destination),\($0.nextHop)" }
                // A client that takes classless routes ignores option 3, so the default route goes in too.
                if !routes.isEmpty, let gateway = subnet.gateway { routes.append("0.0.0.0/0,\(gateway)") }
                if !routes.isEmpty { lines.append("\(tag),option:classless-static-route,\(routes.joined(separator: ","))") }
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: optionsFile, atomically: true, encoding: .utf8)
        }
    }
}

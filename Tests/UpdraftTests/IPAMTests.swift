import Testing

@testable import UpdraftNetwork

@Suite("IP address management")
struct IPAMTests {
    @Test("addresses parse to canonical text and CIDRs insist on zero host bits, as Neutron does")
    func parsing() throws {
        #expect(IPAddress("10.0.0.1")?.description == "10.0.0.1")
        #expect(IPAddress("fd00:0:0::1")?.description == "fd00::1")
        #expect(IPAddress("10.0.0.256") == nil)
        #expect(IPAddress("10.0.0.1/24") == nil)
        #expect(IPNetwork("10.0.0.0/24")?.description == "10.0.0.0/24")
        #expect(IPNetwork("10.0.0.5/24") == nil)
        #expect(IPNetwork(containing: "10.0.0.5/24")?.description == "10.0.0.0/24")
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("10.0.0.0/24")?.mask == "255.255.255.0")
        let v6 = try #require(IPNetwork("fd00::/64"))
        #expect(v6.size == UInt128(1) << 64)
        #expect(try #require(IPNetwork("0.0.0.0/0")).size == UInt128(1) << 32)
    }

    @Test("overlap and containment work across the whole range")
    func overlap() throws {
        let a = try #require(IPNetwork("10.0.0.0/24"))
        #expect(a.overlaps(try #require(IPNetwork("10.0.0.128/25"))))
        #expect(!a.overlaps(try #require(IPNetwork("10.0.1.0/24"))))
        #expect(a.contains(try #require(IPAddress("10.0.0.255"))))
        #expect(!a.contains(try #require(IPAddress("fd00::1"))))
        #expect(try #require(IPNetwork("0.0.0.0/0")).overlaps(a))
    }

    @Test("default pools leave out the network, broadcast and gateway addresses")
    func defaultPools() throws {
        let cidr = try #require(IPNetwork("10.0.0.0/24"))
        let gateway = IPAM.defaultGateway(cidr)
        #expect(gateway?.description == "10.0.0.1")
        #expect(IPAM.defaultPools(cidr, gateway: gateway) == [Subnet.Pool(start: "10.0.0.2", end: "10.0.0.254")])
        #expect(
            IPAM.defaultPools(cidr, gateway: IPAddress("10.0.0.100")) == [
                Subnet.Pool(start: "10.0.0.1", end: "10.0.0.99"), Subnet.Pool(start: "10.0.0.101", end: "10.0.0.254"),
            ])
        #expect(IPAM.defaultPools(cidr, gateway: nil) == [Subnet.Pool(start: "10.0.0.1", end: "10.0.0.254")])
    }

    @Test("pools are refused outside the subnet, reversed, overlapping or over the gateway")
    func poolChecks() throws {
        let cidr = try #require(IPNetwork("10.0.0.0/24"))
        let gateway = IPAddress("10.0.0.1")
        #expect(throws: (any Error).self) {
            try IPAM.validate(pools: [.init(start: "10.0.1.2", end: "10.0.1.9")], in: cidr, gateway: gateway)
        }
        #expect(throws: (any Error).self) {
            try IPAM.validate(pools: [.init(start: "10.0.0.9", end: "10.0.0.2")], in: cidr, gateway: gateway)
        }
        #expect(throws: (any Error).self) {
            try IPAM.validate(
                pools: [.init(start: "10.0.0.2", end: "10.0.0.9"), .init(start: "10.0.0.5", end: "10.0.0.20")], in: cidr,
                gateway: gateway)
        }
        #expect(throws: (any Error).self) {
            try IPAM.validate(pools: [.init(start: "10.0.0.1", end: "10.0.0.9")], in: cidr, gateway: gateway)
        }
        try IPAM.validate(pools: [.init(start: "10.0.0.2", end: "10.0.0.9")], in: cidr, gateway: gateway)
    }

    @Test("the next free address skips used ones and runs across pools until they are full")
    func nextFree() throws {
        let pools = [Subnet.Pool(start: "10.0.0.2", end: "10.0.0.3"), Subnet.Pool(start: "10.0.0.10", end: "10.0.0.10")]
        var used: Set<IPAddress> = [try #require(IPAddress("10.0.0.2"))]
        #expect(IPAM.nextFree(pools: pools, used: used)?.description == "10.0.0.3")
        used.insert(try #require(IPAddress("10.0.0.3")))
        #expect(IPAM.nextFree(pools: pools, used: used)?.description == "10.0.0.10")
        used.insert(try #require(IPAddress("10.0.0.10")))
        #expect(IPAM.nextFree(pools: pools, used: used) == nil)
    }
}

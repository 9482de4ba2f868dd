import Testing
import WarrenICE
import WarrenICENIO
import WarrenPrimitives

@Suite("Dual-stack address preference (RFC 8421 §4, RFC 6724 §2.1)")
struct AddressPreferenceTests {
  func entries(_ addresses: [String]) -> [InterfaceAddresses.Entry] {
    addresses.map { InterfaceAddresses.Entry(interface: "eth0", ip: TransportAddress.IP($0)!) }
  }

  /// The addresses in preference order, as text.
  func order(_ addresses: String...) -> [String] {
    InterfaceAddresses.preferred(entries(addresses)).map { "\($0.ip)" }
  }

  @Test("IPv6 first, the families interleaved, system order kept within a family")
  func interleaved() {
    #expect(
      order("10.1.0.2", "192.168.1.5", "2001:db8:1::2", "2001:db8:1::3")
        == ["2001:db8:1::2", "10.1.0.2", "2001:db8:1::3", "192.168.1.5"])
    #expect(order("10.1.0.2", "2001:db8:1::2") == ["2001:db8:1::2", "10.1.0.2"])
    #expect(order("10.1.0.2", "10.2.0.2") == ["10.1.0.2", "10.2.0.2"])
    // Once one family runs out, the other follows in its own order.
    #expect(order("10.1.0.2", "10.2.0.2", "10.3.0.2", "2001:db8:1::2") == ["2001:db8:1::2", "10.1.0.2", "10.2.0.2", "10.3.0.2"])
  }

  @Test("RFC 6724 precedence within IPv6: native (40) before 6to4 (30), Teredo (5) and ULA (3), which rank below IPv4 (35)")
  func precedence() {
    #expect(
      order("fd00::5", "2001:0:1::1", "2002:c633:6401::1", "2001:db8:1::2")
        == ["2001:db8:1::2", "2002:c633:6401::1", "2001:0:1::1", "fd00::5"])
    // IPv4 (35) outranks 6to4 (30) and ULA (3): it leads, and they follow interleaved.
    #expect(order("fd00::5", "10.1.0.2", "10.2.0.2") == ["10.1.0.2", "fd00::5", "10.2.0.2"])
  }

  @Test("addresses a host candidate must not use are ranked 0 (RFC 8421 §4)", arguments: [
    "fe80::1", "fec0::1", "::ffff:10.1.0.2", "::10.1.0.2", "::",
  ])
  func unusable(_ address: String) {
    #expect(InterfaceAddresses.precedence(TransportAddress.IP(address)!) == 0)
  }

  @Test("the IPv6 host pair outranks the IPv4 host pair when both sides order their candidates this way")
  func ipv6PairFirst() throws {
    var agent = ICEAgent(role: .controlling, localCredentials: ICECredentials(ufrag: "aaaa", pwd: String(repeating: "a", count: 22)), seed: 1)
    let now = ContinuousClock.now
    let local = InterfaceAddresses.preferred(entries(["10.1.0.2", "2001:db8:1::2"]))
    for (index, entry) in local.enumerated() {
      agent.addLocalCandidate(Candidate(type: .host, address: TransportAddress(ip: entry.ip, port: 5000), localPreference: UInt32(65535 - index)), now: now)
    }
    let remote = InterfaceAddresses.preferred(entries(["10.2.0.2", "2001:db8:2::2"]))
    for (index, entry) in remote.enumerated() {
      agent.addRemoteCandidate(Candidate(type: .host, address: TransportAddress(ip: entry.ip, port: 6000), localPreference: UInt32(65535 - index)), now: now)
    }
    agent.setRemoteCredentials(ICECredentials(ufrag: "bbbb", pwd: String(repeating: "b", count: 22)), now: now)
    let pairs = agent.orderedPairs  // Highest priority first.
    #expect(pairs.count == 2)  // Same family only (RFC 8445 §6.1.2.2).
    #expect(try #require(pairs.first).remote.address == TransportAddress(parsing: "[2001:db8:2::2]:6000"))
  }
}

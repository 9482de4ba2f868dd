import Testing
import WarrenNetlink
import WarrenPrimitives

@Suite("rtnetlink notifications")
struct NetlinkMessagesTests {
  @Test("the kernel's own notifications decode to the changes that happened, in order")
  func recordedSequence() throws {
    let changes = try recorded.flatMap { try NetlinkMessages.parse(bytes($0)) }
    let eth7: Int32 = 3, eth8: Int32 = 2
    #expect(changes == [
      .link(interface: eth8, name: "eth8", up: false),
      .link(interface: eth7, name: "eth7", up: false),
      // Up, but no carrier until both ends of the veth pair are up (IFF_RUNNING).
      .link(interface: eth8, name: "eth8", up: false),
      .link(interface: eth7, name: "eth7", up: false),
      .link(interface: eth7, name: "eth7", up: true),
      .link(interface: eth8, name: "eth8", up: true),
      .addressAdded(TransportAddress.IP("10.3.0.2")!, interface: eth7),
      .addressAdded(TransportAddress.IP("2001:db8:3::2")!, interface: eth7),
      .defaultRoute(ipv4: true, added: true),
      .addressRemoved(TransportAddress.IP("10.3.0.2")!, interface: eth7),
      .link(interface: eth7, name: "eth7", up: false),
      .addressRemoved(TransportAddress.IP("2001:db8:3::2")!, interface: eth7),
      .addressRemoved(TransportAddress.IP("fe80::880b:79ff:fed3:d9eb")!, interface: eth7),
      .link(interface: eth8, name: "eth8", up: false),
      .addressAdded(TransportAddress.IP("fe80::6070:7fff:fe13:39ad")!, interface: eth8),
    ])
  }

  @Test("several messages in one datagram, each padded to 4 bytes")
  func batched() throws {
    let address = bytes(recorded[10]), route = bytes(recorded[17])
    #expect(try NetlinkMessages.parse(address + route) == [
      .addressAdded(TransportAddress.IP("10.3.0.2")!, interface: 3), .defaultRoute(ipv4: true, added: true),
    ])
  }

  @Test("routes that are not the main table's default route are not changes", arguments: [4, 5, 11, 12, 16, 19, 31])
  func otherRoutes(index: Int) throws {
    #expect(try NetlinkMessages.parse(bytes(recorded[index])).isEmpty)
  }

  @Test("truncated or inconsistent datagrams are errors that name the problem")
  func malformed() {
    let address = bytes(recorded[10])
    var longer = address
    longer[0] = 0xff  // the header claims more than the datagram holds
    var attribute = address
    attribute[24] = 0x40  // the first attribute runs past the payload
    var wrongFamily = address
    wrongFamily[16] = 10  // an IPv6 message with a 4-byte address
    let cases: [([UInt8], String)] = [
      (longer, "a message of 255 bytes"), (Array(address.prefix(20)), "a message of 80 bytes"),
      (attribute, "an attribute of 64 bytes"), (wrongFamily, "an address of 4 bytes for family 10"),
      (address + [1, 2, 3], "3 bytes after the last message"),
    ]
    for (datagram, problem) in cases {
      #expect {
        try NetlinkMessages.parse(datagram)
      } throws: { error in
        (error as? NetlinkError)?.code == .malformed && "\(error)".contains(problem)
      }
    }
  }

  @Test("100,000 mutated notifications: never a crash, only changes or errors")
  func mutated() {
    var random = SplitMix64(seed: 2026)
    let seeds = recorded.map(bytes)
    var parsed = 0, refused = 0
    for _ in 0..<100_000 {
      var datagram = seeds[Int(random.next() % UInt64(seeds.count))]
      for _ in 0..<(1 + random.next() % 4) {
        switch random.next() % 3 {
        case 0: datagram[Int(random.next() % UInt64(datagram.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
        case 1: datagram.removeLast(Int(random.next() % UInt64(datagram.count)))
        default: datagram.append(UInt8(truncatingIfNeeded: random.next()))
        }
        if datagram.isEmpty { datagram = [0] }
      }
      do {
        _ = try NetlinkMessages.parse(datagram)
        parsed += 1
      } catch {
        refused += 1
      }
    }
    #expect(parsed > 1000 && refused > 1000)
  }
}

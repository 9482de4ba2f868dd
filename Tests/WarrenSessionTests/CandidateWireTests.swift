import Testing
import WarrenICE
import WarrenPrimitives
import WarrenSession
import WarrenSimulation
import WarrenWire

/// ICE candidates to and from wire.md's `cunicu.epdisc.Candidate`, field by field.
@Suite("candidates on the wire")
struct CandidateWireTests {
  let host = TransportAddress("10.0.0.2:5000")
  let mapped = TransportAddress("203.0.113.7:61000")
  let relayed = TransportAddress("198.51.100.9:49200")

  @Test("host, server-reflexive and relayed candidates carry the related address RFC 8839 names")
  func relatedAddresses() {
    let hostWire = Cunicu_Epdisc_Candidate(Candidate(type: .host, address: host))
    #expect(hostWire.type == .host && hostWire.networkType == .udp4 && hostWire.address == "10.0.0.2" && hostWire.port == 5000)
    #expect(!hostWire.hasRelatedAddress && hostWire.relayProtocol == .unspecifiedRelayProtocol)
    #expect(hostWire.priority == Int32(bitPattern: (126 << 24) | (65535 << 8) | 255) && hostWire.component == 1)

    // Server-reflexive: the related address is its base, the host socket (RFC 8445 §5.1.1.2).
    let reflexive = Cunicu_Epdisc_Candidate(Candidate(type: .serverReflexive, address: mapped, base: host))
    #expect(reflexive.type == .serverReflexive && reflexive.address == "203.0.113.7" && reflexive.port == 61000)
    #expect(reflexive.relatedAddress.address == "10.0.0.2" && reflexive.relatedAddress.port == 5000)

    // Relayed: the related address is the mapped address the TURN server saw, not the relayed one.
    let relay = Cunicu_Epdisc_Candidate(Candidate(type: .relay, address: relayed, base: relayed, related: mapped))
    #expect(relay.type == .relay && relay.address == "198.51.100.9" && relay.port == 49200 && relay.relayProtocol == .udp)
    #expect(relay.relatedAddress.address == "203.0.113.7" && relay.relatedAddress.port == 61000)
  }

  @Test("a wire candidate becomes the same ICE candidate, related address included")
  func roundTrip() throws {
    let relay = Candidate(type: .relay, address: relayed, base: relayed, foundation: "42", related: mapped)
    let parsed = try #require(Candidate(Cunicu_Epdisc_Candidate(relay)))
    #expect(parsed.type == .relay && parsed.address == relayed && parsed.related == mapped)
    #expect(parsed.priority == relay.priority && parsed.foundation == "42" && parsed.component == 1)
  }

  @Test("a host candidate from the wire is its own base, whatever related address it carries")
  func hostIgnoresRelatedAddress() throws {
    // The fuzzer's input (Fuzz/regressions/candidate): no type (host), a related address.
    var wire = Cunicu_Epdisc_Candidate()
    wire.networkType = .udp4
    wire.address = "198.51.100.7"
    wire.port = 40000
    wire.relatedAddress.address = "10.0.0.2"
    wire.relatedAddress.port = 51820
    let parsed = try #require(Candidate(wire))
    #expect(parsed.type == .host && parsed.base == parsed.address && parsed.related == nil)
    #expect(Candidate(Cunicu_Epdisc_Candidate(parsed)) == parsed)
  }

  enum Spoiled: String, CaseIterable, Sendable {
    case tcp, mDNS, port0, port70000, unknownType

    func apply(to candidate: inout Cunicu_Epdisc_Candidate) {
      switch self {
      case .tcp: candidate.networkType = .tcp4
      case .mDNS: candidate.address = "0b5e3f2a-1c2d.local"
      case .port0: candidate.port = 0
      case .port70000: candidate.port = 70000
      case .unknownType: candidate.type = .UNRECOGNIZED(9)
      }
    }
  }

  @Test("what the agent cannot use is refused: TCP, mDNS names, bad ports, unknown types", arguments: Spoiled.allCases)
  func refused(_ spoiled: Spoiled) {
    var wire = Cunicu_Epdisc_Candidate(Candidate(type: .host, address: host))
    #expect(Candidate(wire) != nil)
    spoiled.apply(to: &wire)
    #expect(Candidate(wire) == nil)
  }
}

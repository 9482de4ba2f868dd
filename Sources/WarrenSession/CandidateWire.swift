public import WarrenICE
public import WarrenWire
internal import WarrenPrimitives

/// ICE candidates to and from wire.md's `cunicu.epdisc.Candidate` (RFC 8839 §5.1 attributes).
extension Cunicu_Epdisc_Candidate {
  public init(_ candidate: Candidate) {
    self.init()
    type = switch candidate.type {
    case .host: .host
    case .serverReflexive: .serverReflexive
    case .peerReflexive: .peerReflexive
    case .relay: .relay
    }
    networkType = candidate.address.ip.isIPv4 ? .udp4 : .udp6
    foundation = candidate.foundation
    component = Int32(candidate.component)
    priority = Int32(bitPattern: candidate.priority)
    address = "\(candidate.address.ip)"
    port = Int32(candidate.address.port)
    if candidate.type != .host, let related = candidate.related {
      relatedAddress.address = "\(related.ip)"
      relatedAddress.port = Int32(related.port)
    }
    if candidate.type == .relay { relayProtocol = .udp }
  }
}

extension Candidate {
  /// A remote candidate from the wire, or `nil` for what this agent cannot use (TCP, mDNS names,
  /// bad addresses or ports).
  public init?(_ wire: Cunicu_Epdisc_Candidate) {
    guard wire.networkType == .udp4 || wire.networkType == .udp6 || wire.networkType == .unspecifiedNetworkType,
      let ip = TransportAddress.IP(wire.address), (1...65535).contains(wire.port)
    else { return nil }
    let type: CandidateType
    switch wire.type {
    case .host, .unspecifiedCandidateType: type = .host
    case .serverReflexive: type = .serverReflexive
    case .peerReflexive: type = .peerReflexive
    case .relay: type = .relay
    case .UNRECOGNIZED: return nil
    }
    let address = TransportAddress(ip: ip, port: UInt16(wire.port))
    var base: TransportAddress?
    // A host candidate is its own base (RFC 8445 §5.1.1.1): a related address on one is ignored,
    // as Warren never sends one (it used to become the base, and the candidate changed when it
    // went back to the wire; found by the candidate fuzz target).
    if type != .host, wire.hasRelatedAddress, let relatedIP = TransportAddress.IP(wire.relatedAddress.address),
      (0...65535).contains(wire.relatedAddress.port)
    {
      base = TransportAddress(ip: relatedIP, port: UInt16(wire.relatedAddress.port))
    }
    self.init(
      type: type, address: address, base: base, priority: UInt32(bitPattern: wire.priority),
      foundation: wire.foundation.isEmpty ? nil : wire.foundation, component: Int(max(1, wire.component)), related: base)
  }
}

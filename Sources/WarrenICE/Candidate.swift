public import WarrenPrimitives

/// A transport address: IP and port. ICE runs over UDP only here.

/// The kind of a candidate and its type preference (RFC 8445 §5.1.2.1, recommended values).
public enum CandidateType: Int, Hashable, Sendable, CustomStringConvertible {
  case host = 1
  case serverReflexive = 2
  case peerReflexive = 3
  case relay = 4

  public var typePreference: UInt32 {
    switch self {
    case .host: 126
    case .peerReflexive: 110
    case .serverReflexive: 100
    case .relay: 0
    }
  }

  public var description: String {
    switch self {
    case .host: "host"
    case .serverReflexive: "srflx"
    case .peerReflexive: "prflx"
    case .relay: "relay"
    }
  }
}

/// An ICE candidate (RFC 8445 §5.1): a transport address, the base it is sent from, and what
/// session description attributes carry (RFC 8839 §5.1).
public struct Candidate: Hashable, Sendable, CustomStringConvertible {
  public var type: CandidateType
  public var address: TransportAddress
  /// The local address packets for this candidate leave from: itself for host candidates, the host
  /// for server-reflexive ones, the allocation for relayed ones. For remote candidates, the
  /// related address they were signaled with, if any.
  public var base: TransportAddress
  /// The address signaled as its related address (RFC 8839 §5.1, `raddr`/`rport`; RFC 8445
  /// §5.1.1.2): the base of a server-reflexive or peer-reflexive candidate, the mapped
  /// (server-reflexive) address of a relayed one; none for host candidates.
  public var related: TransportAddress?
  public var priority: UInt32
  public var foundation: String
  public var component: Int

  public init(
    type: CandidateType, address: TransportAddress, base: TransportAddress? = nil, priority: UInt32? = nil,
    foundation: String? = nil, component: Int = 1, localPreference: UInt32 = 65535, server: String = "",
    related: TransportAddress? = nil
  ) {
    self.type = type
    self.address = address
    self.base = base ?? address
    self.related = related ?? (type == .host ? nil : base)
    self.component = component
    self.priority = priority ?? Candidate.priority(type: type, localPreference: localPreference, component: component)
    self.foundation = foundation ?? Candidate.foundation(type: type, base: base ?? address, server: server)
  }

  /// priority = 2²⁴·type preference + 2⁸·local preference + (256 − component) (RFC 8445 §5.1.2.1).
  public static func priority(type: CandidateType, localPreference: UInt32, component: Int) -> UInt32 {
    (type.typePreference << 24) | ((localPreference & 0xffff) << 8) | UInt32(256 - min(max(component, 1), 256))
  }

  /// The same for candidates of the same type, base IP and server (RFC 8445 §5.1.1.3): a short
  /// decimal digest of those three.
  public static func foundation(type: CandidateType, base: TransportAddress, server: String) -> String {
    var hash: UInt32 = 2_166_136_261  // FNV-1a
    for byte in Array("\(type)|\(base.ip)|\(server)".utf8) {
      hash = (hash ^ UInt32(byte)) &* 16_777_619
    }
    return String(hash)
  }

  public var isRelayed: Bool { type == .relay }

  public var description: String { "\(type) \(address)" + (base != address ? " (base \(base))" : "") }
}

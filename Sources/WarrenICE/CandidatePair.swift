public import WarrenPrimitives
/// The state of a pair on the checklist (RFC 8445 §6.1.2.6). This agent has one data stream with
/// one component, so pairs start Waiting: freezing only orders checks across streams.
public enum CandidatePairState: Hashable, Sendable {
  case waiting
  case inProgress
  case succeeded
  case failed
}

/// A local and a remote candidate that may form a path (RFC 8445 §6.1.2).
public struct CandidatePair: Hashable, Sendable, CustomStringConvertible {
  public struct ID: Hashable, Sendable {
    public let local: TransportAddress
    public let remote: TransportAddress
  }

  public var local: Candidate
  public var remote: Candidate
  public var state: CandidatePairState = .waiting
  /// Controlling: a check with USE-CANDIDATE was sent. Controlled: one was received.
  public var nominated = false
  public var statistics = PairStatistics()

  public var id: ID { ID(local: local.base, remote: remote.address) }

  public init(local: Candidate, remote: Candidate) {
    self.local = local
    self.remote = remote
  }

  /// 2³²·min(G, D) + 2·max(G, D) + (G > D ? 1 : 0), G the controlling side's candidate priority
  /// (RFC 8445 §6.1.2.3).
  public func priority(controlling: Bool) -> UInt64 {
    let g = UInt64(controlling ? local.priority : remote.priority)
    let d = UInt64(controlling ? remote.priority : local.priority)
    return (min(g, d) << 32) + 2 * max(g, d) + (g > d ? 1 : 0)
  }

  /// Whether either end is a TURN relay.
  public var isRelayed: Bool { local.isRelayed || remote.isRelayed }

  /// How datagrams on this pair travel, in the words `warren status` and `warren ping` use.
  public enum Path: String, Hashable, Sendable, CustomStringConvertible {
    /// Host to host: no NAT and no relay in between.
    case direct
    /// Through at least one NAT mapping (a server- or peer-reflexive end), still peer to peer.
    case serverReflexive = "srflx"
    /// Through a TURN relay.
    case relay

    public var description: String { rawValue }
  }

  public var path: Path {
    if isRelayed { return .relay }
    return local.type == .host && remote.type == .host ? .direct : .serverReflexive
  }

  public var description: String { "\(local.type) \(local.base) -> \(remote.type) \(remote.address)" }
}

/// Per-pair counters (RFC 7675 and the stats a WireGuard user wants to see).
public struct PairStatistics: Hashable, Sendable {
  public var requestsSent = 0
  public var requestsReceived = 0
  public var responsesSent = 0
  public var responsesReceived = 0
  public var currentRoundTripTime: Duration?
  /// When the last success response on this pair arrived (any check, consent or probe).
  public var lastResponseReceived: ContinuousClock.Instant?
  public var totalRoundTripTime: Duration = .zero
  public var packetsSent = 0
  public var packetsReceived = 0
  public var bytesSent = 0
  public var bytesReceived = 0
}

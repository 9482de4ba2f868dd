public import WarrenPrimitives

/// Which side drives nomination (RFC 8445 §6.1.1). Between Warren peers the smaller public key
/// controls; a foreign peer may disagree, which role-conflict resolution settles.
public enum ICERole: Hashable, Sendable, CustomStringConvertible {
  case controlling
  case controlled

  public var description: String { self == .controlling ? "controlling" : "controlled" }
}

/// ICE credentials (RFC 8445 §5.3): username fragment and password.
public struct ICECredentials: Hashable, Sendable {
  public var ufrag: String
  public var pwd: String

  public init(ufrag: String, pwd: String) {
    self.ufrag = ufrag
    self.pwd = pwd
  }

  /// Fresh credentials: `ufrag` 16 and `pwd` 32 random letters (session.md), from `random`.
  public static func random(using random: inout some RandomNumberGenerator) -> ICECredentials {
    let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    func word(_ count: Int) -> String { String((0..<count).map { _ in letters.randomElement(using: &random)! }) }
    return ICECredentials(ufrag: word(16), pwd: word(32))
  }
}

/// The connection states of wire.md's `ConnectionState`, with the same numbers.
public enum ICEConnectionState: Int, Hashable, Sendable, CustomStringConvertible {
  case new = 0
  case checking = 1
  case connected = 2
  case completed = 3
  case failed = 4
  case disconnected = 5
  case closed = 6

  public var description: String {
    switch self {
    case .new: "new"
    case .checking: "checking"
    case .connected: "connected"
    case .completed: "completed"
    case .failed: "failed"
    case .disconnected: "disconnected"
    case .closed: "closed"
    }
  }
}

/// A datagram the driver must send: from the local base `from` to `to`.
public struct Transmit: Hashable, Sendable, CustomStringConvertible {
  public var from: TransportAddress
  public var to: TransportAddress
  public var bytes: [UInt8]

  public init(from: TransportAddress, to: TransportAddress, bytes: [UInt8]) {
    self.from = from
    self.to = to
    self.bytes = bytes
  }

  public var description: String { "\(from) -> \(to) (\(bytes.count) bytes)" }
}

/// What the agent tells its owner.
public enum ICEEvent: Hashable, Sendable {
  case stateChanged(ICEConnectionState)
  case selectedPairChanged(CandidatePair)
  case roleChanged(ICERole)
  /// An application datagram arrived over a valid pair.
  case data([UInt8], from: TransportAddress)
  /// The answer to `probe(_:timeout:now:)` with this token arrived over `pair`.
  case probeAnswered(token: UInt64, roundTripTime: Duration, pair: CandidatePair.ID)
  /// The probe with this token got no answer in time (or an error answer).
  case probeLost(token: UInt64)
}

/// The agent's timers and limits. Every RFC timer is a named value here.
public struct ICEConfiguration: Sendable {
  /// Ta, the pacing of new checks (RFC 8445 §14.2).
  public var checkInterval: Duration = .milliseconds(50)
  /// First retransmission timeout of a check; doubles each time (RFC 8489 §6.2.1).
  public var initialRTO: Duration = .milliseconds(250)
  /// Transmissions of one check before its pair fails (cunicu: 7).
  public var maxTransmissions = 7
  /// A relayed pair is nominated only after this long without a direct pair succeeding.
  public var relayNominationDelay: Duration = .seconds(1)
  /// Checking with no valid pair for this long fails the agent.
  public var checkingTimeout: Duration = .seconds(30)
  /// Consent checks on the selected pair, about this often (RFC 7675 §5.1: 5 s, ±20 %), but at
  /// most 40 % of `disconnectedTimeout` (2 s ± 20 % with the defaults), so that a healthy path
  /// never looks disconnected.
  public var consentInterval: Duration = .seconds(5)
  /// No consent for this long: Disconnected.
  public var disconnectedTimeout: Duration = .seconds(5)
  /// No consent for this long: Failed (RFC 7675 §5.1 says 30 s).
  public var failedTimeout: Duration = .seconds(30)
  /// Binding indications keep NAT bindings open when nothing else was sent for this long.
  public var keepaliveInterval: Duration = .seconds(2)
  /// Only relayed local candidates form pairs and answer checks (WebRTC's `relay` transport
  /// policy): the peer never learns a host or server-reflexive address.
  public var relayOnly = false
  /// SOFTWARE attribute on requests; empty leaves it out.
  public var software = "warren"

  public init() {}
}

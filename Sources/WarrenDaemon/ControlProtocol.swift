internal import Foundation
public import WarrenSession
internal import WarrenWireGuard

// The control socket's protocol (docs/control.md): the client writes one JSON request and a
// newline; the daemon answers with one JSON object per line and closes the connection. Keys are
// snake_case; `warren status --json` prints the ``StatusReport`` exactly as the daemon sent it.

/// A request to the running daemon.
public struct ControlRequest: Codable, Sendable, Equatable {
  public enum Command: String, Codable, Sendable {
    case status
    case ping
  }

  public var command: Command
  /// `ping`: the peer's configured name or its base64 public key.
  public var peer: String?
  /// `ping`: probes to send (1–1000).
  public var count: Int?
  /// `ping`: time between probes, in milliseconds.
  public var intervalMs: Int?
  /// `ping`: how long to wait for each answer, in milliseconds.
  public var timeoutMs: Int?

  public init(command: Command, peer: String? = nil, count: Int? = nil, intervalMs: Int? = nil, timeoutMs: Int? = nil) {
    self.command = command
    self.peer = peer
    self.count = count
    self.intervalMs = intervalMs
    self.timeoutMs = timeoutMs
  }
}

/// The answer to `status`: this daemon and each of its peers.
public struct StatusReport: Codable, Sendable, Equatable {
  /// The key of the configured peers' sessions (absent when only WireGuard interfaces are used).
  public var publicKey: String?
  public var peers: [PeerReport]
  /// Peer discovery, one entry per interface that runs it (absent without).
  public var discovery: [DiscoveryReport]?

  public init(publicKey: String?, peers: [PeerReport], discovery: [DiscoveryReport]? = nil) {
    self.publicKey = publicKey
    self.peers = peers
    self.discovery = discovery
  }
}

/// One interface's peer discovery in a ``StatusReport`` (docs/discovery.md).
public struct DiscoveryReport: Codable, Sendable, Equatable {
  public struct LearnedPeer: Codable, Sendable, Equatable {
    public var name: String
    public var publicKey: String
    public var allowedIps: [String]
    /// Seconds since it last announced itself.
    public var lastAnnouncedSecondsAgo: Double
    /// Where announcements arrive from: the daemon's signaling backends.
    public var learnedFrom: String
  }

  public var interface: String
  /// The community's public key (as `warren community-key` prints it), once derived.
  public var community: String?
  public var heardFromCommunity: Bool
  public var learned: [LearnedPeer]
  /// Announcements not acted on, by reason.
  public var refusals: [String: Int]
  /// Why discovery is not running, if it is not.
  public var problem: String?
}

/// One peer in a ``StatusReport``.
public struct PeerReport: Codable, Sendable, Equatable {
  public struct Endpoint: Codable, Sendable, Equatable {
    /// host, srflx, prflx or relay.
    public var type: String
    public var address: String
  }

  public var name: String
  public var publicKey: String
  /// The session state (session.md): unknown, idle, new, connecting, checking, connected, …
  public var state: String
  /// controlling or controlled.
  public var role: String
  /// direct, srflx or relay; absent while no pair is selected.
  public var path: String?
  public var local: Endpoint?
  public var remote: Endpoint?
  /// The selected pair's last measured round-trip time.
  public var rttMs: Double?
  /// Sessions started over (the peer restarted, or the path failed).
  public var restarts: Int
  /// The same, by cause: an operator can tell a restarting peer from a failing path.
  public var restartCauses: RestartCounts
  /// Messages from the peer dropped before they could change the session (late copies, replays).
  public var droppedMessages: DroppedMessageCounts
  public var secondsInState: Double?
  /// Seconds since the last signaling message from the peer arrived.
  public var secondsSinceSignal: Double?
  /// Times the traffic moved from one selected pair to another (relay to direct), and how long
  /// ago it last did.
  public var pathSwitches: Int
  public var secondsSinceSwitch: Double?
  /// Where the application sends datagrams for this peer, and where the peer's datagrams go.
  public var listen: String?
  public var forward: String
  /// Datagrams and bytes the application sent to the peer, and those delivered from it.
  public var packetsSent: Int
  public var bytesSent: Int
  public var packetsReceived: Int
  public var bytesReceived: Int
  /// Datagrams from the application dropped because no path to the peer existed yet.
  public var droppedNoPath: Int
  /// The WireGuard interface of the peer, and what WireGuard itself says about it.
  public var interface: String?
  public var wireguard: WireGuardPeerReport?
  /// kernel or userspace (docs/wireguard.md, "Data paths"), and why; absent until a WireGuard
  /// peer's first pair is selected.
  public var dataPath: String?
  public var dataPathReason: String?
}

/// A peer's session restarts by cause (docs/session.md, "Restarts that converge").
public struct RestartCounts: Codable, Sendable, Equatable {
  /// The peer's new credentials arrived.
  public var peerRestarted = 0
  /// Our ICE agent failed.
  public var agentFailed = 0
  /// The selected pair stayed disconnected for the restart timeout.
  public var disconnected = 0
  /// No connectivity checks began in time after the peer's credentials.
  public var stalled = 0

  public init(peerRestarted: Int = 0, agentFailed: Int = 0, disconnected: Int = 0, stalled: Int = 0) {
    self.peerRestarted = peerRestarted
    self.agentFailed = agentFailed
    self.disconnected = disconnected
    self.stalled = stalled
  }

  init(_ counts: [RestartCause: Int]) {
    for cause in RestartCause.allCases { self[keyPath: Self.field(cause)] = counts[cause] ?? 0 }
  }

  /// The count of one cause.
  public subscript(cause: RestartCause) -> Int { self[keyPath: Self.field(cause)] }

  /// Which field counts `cause` (the one place that pairs them).
  private static func field(_ cause: RestartCause) -> WritableKeyPath<Self, Int> {
    switch cause {
    case .peerRestarted: \.peerRestarted
    case .agentFailed: \.agentFailed
    case .disconnected: \.disconnected
    case .stalled: \.stalled
    }
  }
}

/// Messages from a peer dropped before they reached its session, by reason (docs/session.md).
public struct DroppedMessageCounts: Codable, Sendable, Equatable {
  /// Envelopes whose nonce was accepted before (replays, multi-backend copies).
  public var seenNonce = 0
  /// Warren messages sent at a time already accepted, or too far behind the newest.
  public var staleFreshness = 0
  /// Warren messages sent too far from our clock.
  public var outsideClockWindow = 0
  /// From an agent older than the peer's newest one.
  public var staleAgent = 0
  /// Credentials the peer used before its current ones.
  public var oldCredentials = 0
  /// Unknown credentials that did not ask for ours, while the peer's current ones are known.
  public var unannouncedCredentials = 0
  /// Other credentials with the current agent generation.
  public var conflictingCredentials = 0
  /// Candidates beyond those kept while their credentials had not arrived.
  public var tooManyEarlyCandidates = 0
  /// Candidates this agent cannot use (TCP, mDNS names, bad addresses).
  public var unusableCandidate = 0

  public init() {}

  init(_ counts: [DroppedMessageReason: Int]) {
    for reason in DroppedMessageReason.allCases { self[keyPath: Self.field(reason)] = counts[reason] ?? 0 }
  }

  /// The count of one reason.
  public subscript(reason: DroppedMessageReason) -> Int { self[keyPath: Self.field(reason)] }

  /// Every message dropped, whatever the reason.
  public var total: Int { DroppedMessageReason.allCases.reduce(0) { $0 + self[$1] } }

  /// Which field counts `reason` (the one place that pairs them).
  private static func field(_ reason: DroppedMessageReason) -> WritableKeyPath<Self, Int> {
    switch reason {
    case .seenNonce: \.seenNonce
    case .staleFreshness: \.staleFreshness
    case .outsideClockWindow: \.outsideClockWindow
    case .staleAgent: \.staleAgent
    case .oldCredentials: \.oldCredentials
    case .unannouncedCredentials: \.unannouncedCredentials
    case .conflictingCredentials: \.conflictingCredentials
    case .tooManyEarlyCandidates: \.tooManyEarlyCandidates
    case .unusableCandidate: \.unusableCandidate
    }
  }
}

/// WireGuard's own view of a peer (`wg show`): endpoint, latest handshake, transfer.
public struct WireGuardPeerReport: Codable, Sendable, Equatable {
  public var endpoint: String?
  /// Seconds since the Unix epoch; absent before the first handshake.
  public var latestHandshake: Int64?
  public var receivedBytes: Int64
  public var transmittedBytes: Int64
}

/// One line of the answer to `ping`: a probe and what became of it.
public struct PingReply: Codable, Sendable, Equatable {
  public enum Result: String, Codable, Sendable {
    case answered
    case lost
    /// No pair was selected when the probe was due.
    case noPath = "no_path"
  }

  public var seq: Int
  public var peer: String
  public var result: Result
  public var rttMs: Double?
  public var path: String?
  /// The remote end of the pair the answer came over.
  public var remote: String?

  public init(seq: Int, peer: String, result: Result, rttMs: Double? = nil, path: String? = nil, remote: String? = nil) {
    self.seq = seq
    self.peer = peer
    self.result = result
    self.rttMs = rttMs
    self.path = path
    self.remote = remote
  }
}

/// An answer line saying why the request failed.
public struct ControlFailure: Codable, Sendable, Equatable, Error, CustomStringConvertible {
  public var error: String

  public init(_ error: String) { self.error = error }

  public var description: String { error }
}

/// JSON lines as the control socket writes and reads them.
public enum ControlCoding {
  public static func encode(_ value: some Encodable) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
  }

  public static func decode<Value: Decodable>(_ type: Value.Type, from line: some Collection<UInt8>) throws -> Value {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(type, from: Data(line))
  }

  /// A reply line is either what was asked for or a ``ControlFailure``.
  public static func decodeReply<Value: Decodable>(_ type: Value.Type, from line: some Collection<UInt8>) throws -> Value {
    if let failure = try? decode(ControlFailure.self, from: line) { throw failure }
    return try decode(type, from: line)
  }
}

extension WireGuardPeerReport {
  init(_ peer: WireGuardDevice.Peer) {
    self.init(
      endpoint: peer.endpoint.map { "\($0)" }, latestHandshake: peer.lastHandshake == 0 ? nil : peer.lastHandshake,
      receivedBytes: peer.receivedBytes, transmittedBytes: peer.transmittedBytes)
  }
}

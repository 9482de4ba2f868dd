internal import Foundation
internal import WarrenSession
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

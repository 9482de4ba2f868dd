public import WarrenCrypto
public import WarrenPrimitives

/// What Warren reads of a WireGuard interface: its key and port, and its peers with what the
/// status shows (the cross-platform configuration protocol's `get=1` fields).
public struct WireGuardDevice: Sendable, Equatable {
  public struct Peer: Sendable, Equatable {
    public var publicKey: Key
    public var endpoint: TransportAddress?
    public var allowedIPs: [String] = []
    /// Seconds since the Unix epoch of the latest handshake; 0 if none.
    public var lastHandshake: Int64 = 0
    public var receivedBytes: Int64 = 0
    public var transmittedBytes: Int64 = 0
    public var persistentKeepalive: Int = 0
    /// The peer's preshared key, if it has one (kept when Warren renews the peer).
    public var presharedKey: Key?

    public init(publicKey: Key, endpoint: TransportAddress? = nil) {
      self.publicKey = publicKey
      self.endpoint = endpoint
    }
  }

  public var name: String
  public var privateKey: PrivateKey?
  public var listenPort: UInt16?
  public var peers: [Peer] = []

  public init(name: String, privateKey: PrivateKey? = nil, listenPort: UInt16? = nil, peers: [Peer] = []) {
    self.name = name
    self.privateKey = privateKey
    self.listenPort = listenPort
    self.peers = peers
  }
}

/// Why talking to WireGuard failed: a code to match on, the interface, and what went wrong, in
/// words for a log line.
public struct WireGuardError: CodedError, Equatable {
  public typealias Code = ErrorCode<WireGuardError>

  public let code: Code
  public let interface: String
  public let message: String

  public init(_ code: Code, _ interface: String, _ message: String) {
    self.code = code
    self.interface = interface
    self.message = message
  }

  public var description: String { "\(code): WireGuard interface \(interface): \(message)" }
}

extension ErrorCode where Domain == WireGuardError {
  /// The interface's control socket or the `wg` tool cannot be reached or run.
  public static var unreachable: Self { Self("unreachable") }
  /// The answer is not what WireGuard sends.
  public static var malformedAnswer: Self { Self("malformed answer") }
  /// WireGuard refused the request (an errno, or `wg` failed).
  public static var refused: Self { Self("refused") }
}

/// A way to read and change a WireGuard interface: the userspace API socket, or the `wg` tool.
public protocol WireGuardControl: Sendable {
  var name: String { get }
  func device() async throws(WireGuardError) -> WireGuardDevice
  /// Points `peer` at `endpoint` (only that: keys, allowed IPs and keepalive stay as they are).
  func setEndpoint(_ endpoint: TransportAddress, peer: Key) async throws(WireGuardError)
  /// Replaces `peer` by a new copy of itself (same keys, allowed IPs and keepalive) pointed at
  /// `endpoint`, and has it send a handshake initiation at once (docs/wireguard.md, "The first
  /// handshake"). For a peer without a session only: a renewed peer has no keys yet.
  func renewPeer(_ peer: WireGuardDevice.Peer, endpoint: TransportAddress) async throws(WireGuardError)
  /// Adds `peer`, or sets an existing one's allowed IPs to exactly `allowedIPs` (peer discovery);
  /// its endpoint and keepalive are left to endpoint discovery.
  func setPeer(_ peer: Key, allowedIPs: [String]) async throws(WireGuardError)
  /// Removes `peer` (nothing happens if it is not there).
  func removePeer(_ peer: Key) async throws(WireGuardError)
}

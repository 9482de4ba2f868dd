internal import WarrenSTUN
public import WarrenPrimitives

/// A sans-IO TURN client for one allocation (RFC 8656) over UDP.
///
/// Like the ICE agent it owns no socket and reads no clock: the owner calls `allocate`, feeds every
/// datagram from the TURN server (`handleReceive`) and the time (`handleTimeout`), and drains the
/// datagrams to send to the server (`pollTransmit`), what happened (`pollEvent`) and when to call
/// again (`pollTimeout`). Data for peers goes in through `send`, and comes out as `.data` events.
public struct TURNClient: Sendable {
  public typealias Instant = ContinuousClock.Instant

  public struct Configuration: Sendable {
    public var username: String
    public var password: String
    /// LIFETIME asked for in Allocate and Refresh (RFC 8656 §7.2: the server may shorten it).
    public var requestedLifetime: Duration = .seconds(600)
    /// Refresh this long before the allocation would expire (at the latest at half its lifetime).
    public var refreshMargin: Duration = .seconds(60)
    /// First retransmission timeout of a request over UDP; doubles each time (RFC 8489 §6.2.1).
    public var initialRTO: Duration = .milliseconds(500)
    /// Transmissions of one request before giving up (Rc, RFC 8489 §6.2.1).
    public var maxTransmissions = 7
    /// Permissions last 300 s (RFC 8656 §9) and channels 600 s (§12); both are refreshed a
    /// minute early while the allocation lives.
    public var permissionLifetime: Duration = .seconds(300)
    public var channelLifetime: Duration = .seconds(600)
    /// Datagrams held per peer address while its permission is being created; the oldest go first.
    public var queueLimit = 64
    /// SOFTWARE attribute on requests; empty leaves it out.
    public var software = "warren"
    /// Over TCP or TLS (RFC 8656 §3.1): requests are sent once and answered within
    /// `reliableTimeout` (RFC 8489 §6.2.2), and ChannelData is padded to a multiple of 4 (§12.5).
    public var reliable = false
    public var reliableTimeout: Duration = .milliseconds(39_500)

    public init(username: String, password: String) {
      self.username = username
      self.password = password
    }
  }

  public enum State: Hashable, Sendable {
    case idle
    case allocating
    case allocated
    /// The allocation could not be made, or was lost (see the `.failed` event's reason).
    case failed
    case closed
  }

  public enum Event: Hashable, Sendable {
    case allocated(relayed: TransportAddress, mapped: TransportAddress?, lifetime: Duration)
    case refreshed(lifetime: Duration)
    case failed(reason: String)
    case permissionCreated(TransportAddress.IP)
    case permissionFailed(TransportAddress.IP, reason: String)
    case channelBound(peer: TransportAddress, channel: UInt16)
    /// A datagram a peer sent to the relayed address.
    case data([UInt8], from: TransportAddress)
    case closed
  }

  enum Kind: Hashable, Sendable {
    case allocate
    case refresh(closing: Bool)
    case createPermission(TransportAddress.IP)
    case channelBind(peer: TransportAddress, channel: UInt16)
  }

  struct Transaction: Sendable {
    let kind: Kind
    let bytes: [UInt8]
    var sent: Int
    var deadline: Instant
  }

  struct Permission: Sendable {
    var installed = false
    var pending = false
    var refreshAt: Instant?
    var queue: [(peer: TransportAddress, data: [UInt8])] = []
  }

  struct Channel: Sendable {
    let number: UInt16
    var bound = false
    var pending = false
    var refreshAt: Instant?
  }

  public let configuration: Configuration
  public internal(set) var state: State = .idle
  public internal(set) var relayedAddress: TransportAddress?
  public internal(set) var mappedAddress: TransportAddress?

  var realm: String?
  var nonce: String?
  var key: [UInt8]?
  /// 438 answers in a row; a server that keeps rejecting fresh nonces is given up on.
  var staleNonces = 0
  var refreshAt: Instant?
  var expiresAt: Instant?
  var permissions: [TransportAddress.IP: Permission] = [:]
  var channels: [TransportAddress: Channel] = [:]
  var channelPeers: [UInt16: TransportAddress] = [:]
  var nextChannel = ChannelData.numbers.lowerBound
  var transactions: [STUNTransactionID: Transaction] = [:]
  var transmits: [[UInt8]] = []
  var events: [Event] = []
  var random: SplitMix64

  public init(configuration: Configuration, seed: UInt64) {
    self.configuration = configuration
    random = SplitMix64(seed: seed)
  }

  // MARK: - Inputs

  /// Asks the server for an allocation (RFC 8656 §7.1). The first answer is normally 401 with the
  /// realm and nonce; the request is then repeated with the long-term credentials.
  public mutating func allocate(now: Instant) {
    guard state == .idle else { return }
    state = .allocating
    request(.allocate, now: now)
  }

  /// Sends `data` to `peer` through the relay: as ChannelData when a channel is bound, else as a
  /// Send indication once a permission for the peer's address exists (created on first use,
  /// with the data held meanwhile). False when there is no allocation.
  @discardableResult
  public mutating func send(_ data: [UInt8], to peer: TransportAddress, now: Instant) -> Bool {
    guard state == .allocated else { return false }
    if let channel = channels[peer], channel.bound {
      transmits.append(ChannelData(channel: channel.number, data: data).encoded(padded: configuration.reliable))
      return true
    }
    if permissions[peer.ip]?.installed == true {
      transmits.append(sendIndication(data, to: peer))
      return true
    }
    var permission = permissions[peer.ip] ?? Permission()
    permission.queue.append((peer, data))
    if permission.queue.count > configuration.queueLimit { permission.queue.removeFirst() }
    let needsRequest = !permission.pending
    permission.pending = true
    permissions[peer.ip] = permission
    if needsRequest { request(.createPermission(peer.ip), now: now) }
    return true
  }

  /// Creates a permission for `ip` now (RFC 8656 §9), before anything is sent to it, so that
  /// datagrams from that address are relayed to us at once: an ICE agent permits every remote
  /// candidate's address as it learns it, and the peer's first check through our relay is not
  /// dropped while our own check to it waits for its turn. Nothing happens without an allocation,
  /// for an address of the other family, or when the permission exists or is being created.
  public mutating func permit(_ ip: TransportAddress.IP, now: Instant) {
    guard state == .allocated, relayedAddress.map({ $0.ip.isIPv4 == ip.isIPv4 }) ?? false, permissions[ip] == nil else { return }
    permissions[ip] = Permission(pending: true)
    request(.createPermission(ip), now: now)
  }

  /// Binds a channel to `peer` (RFC 8656 §12), after which data to and from it travels as
  /// ChannelData. Meant for the pair ICE selected.
  public mutating func bindChannel(to peer: TransportAddress, now: Instant) {
    guard state == .allocated, channels[peer] == nil else { return }
    var number = nextChannel
    while channelPeers[number] != nil {
      number = number == ChannelData.numbers.upperBound ? ChannelData.numbers.lowerBound : number + 1
      if number == nextChannel { return }  // all 4096 in use
    }
    nextChannel = number == ChannelData.numbers.upperBound ? ChannelData.numbers.lowerBound : number + 1
    channels[peer] = Channel(number: number, pending: true)
    channelPeers[number] = peer
    request(.channelBind(peer: peer, channel: number), now: now)
  }

  /// Releases the allocation (a Refresh with LIFETIME 0, RFC 8656 §7.2); nothing is relayed after.
  public mutating func close(now: Instant) {
    let wasAllocated = state == .allocated
    transactions = [:]
    if wasAllocated { request(.refresh(closing: true), now: now) }
    if state != .closed {
      state = .closed
      events.append(.closed)
    }
  }

  /// The connection to the server (TCP, TLS) closed: the allocation is gone with it (RFC 8656 §3.1).
  public mutating func transportClosed() {
    fail("the connection to the TURN server closed")
  }

  /// Feeds a datagram that came from the TURN server. Returns false when it is neither STUN nor
  /// ChannelData (the caller may hand it elsewhere).
  @discardableResult
  public mutating func handleReceive(_ datagram: [UInt8], now: Instant) -> Bool {
    if ChannelData.looksLikeChannelData(datagram) {
      if state == .allocated, let message = try? ChannelData(parsing: datagram), let peer = channelPeers[message.channel] {
        events.append(.data(message.data, from: peer))
      }
      return true
    }
    guard STUNMessage.isSTUN(datagram) else { return false }
    guard let message = try? STUNMessage(parsing: datagram), message.fingerprintMatches != false else { return true }
    switch message.messageClass {
    case .indication where message.method == .data:
      if state == .allocated, let peer = try? message.xorPeerAddress, let data = message.attribute(.data)?.value {
        events.append(.data(data, from: peer))
      }
    case .successResponse, .errorResponse:
      handleResponse(message, now: now)
    default:
      break
    }
    return true
  }

  /// Runs every timer due at `now`: retransmissions, refreshes of the allocation, its
  /// permissions and channels, and expiry.
  public mutating func handleTimeout(now: Instant) {
    retransmit(now: now)
    guard state == .allocated else { return }
    if let expiresAt, now >= expiresAt {
      fail("the allocation expired: no successful Refresh in time")
      return
    }
    if let due = refreshAt, now >= due {
      refreshAt = nil
      request(.refresh(closing: false), now: now)
    }
    for (ip, permission) in permissions where permission.installed && !permission.pending {
      if let due = permission.refreshAt, now >= due {
        permissions[ip]?.pending = true
        request(.createPermission(ip), now: now)
      }
    }
    for (peer, channel) in channels where channel.bound && !channel.pending {
      if let due = channel.refreshAt, now >= due {
        channels[peer]?.pending = true
        request(.channelBind(peer: peer, channel: channel.number), now: now)
      }
    }
  }

  // MARK: - The data path

  /// The channel bound to `peer`, if any: data to it may be framed as ChannelData by the caller
  /// (``ChannelData``) and sent to the server directly, which is what ``send(_:to:now:)`` does.
  public func boundChannel(to peer: TransportAddress) -> UInt16? {
    guard state == .allocated, let channel = channels[peer], channel.bound else { return nil }
    return channel.number
  }

  /// The peer bound to channel `number`: ChannelData on it came from that peer, as
  /// ``handleReceive(_:now:)`` reports it.
  public func peer(onChannel number: UInt16) -> TransportAddress? {
    state == .allocated ? channelPeers[number] : nil
  }

  // MARK: - Outputs

  /// The next datagram for the TURN server.
  public mutating func pollTransmit() -> [UInt8]? {
    transmits.isEmpty ? nil : transmits.removeFirst()
  }

  public mutating func pollEvent() -> Event? {
    events.isEmpty ? nil : events.removeFirst()
  }

  /// When `handleTimeout` must be called next, if anything is pending.
  public func pollTimeout() -> Instant? {
    var earliest: Instant?
    func consider(_ deadline: Instant?) {
      if let deadline, earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
    }
    for transaction in transactions.values { consider(transaction.deadline) }
    guard state == .allocated else { return earliest }
    consider(refreshAt)
    consider(expiresAt)
    for permission in permissions.values where permission.installed && !permission.pending { consider(permission.refreshAt) }
    for channel in channels.values where channel.bound && !channel.pending { consider(channel.refreshAt) }
    return earliest
  }
}

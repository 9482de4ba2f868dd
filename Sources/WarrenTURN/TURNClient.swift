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

  private enum Kind: Hashable, Sendable {
    case allocate
    case refresh(closing: Bool)
    case createPermission(TransportAddress.IP)
    case channelBind(peer: TransportAddress, channel: UInt16)
  }

  private struct Transaction: Sendable {
    let kind: Kind
    let bytes: [UInt8]
    var sent: Int
    var deadline: Instant
  }

  private struct Permission: Sendable {
    var installed = false
    var pending = false
    var refreshAt: Instant?
    var queue: [(peer: TransportAddress, data: [UInt8])] = []
  }

  private struct Channel: Sendable {
    let number: UInt16
    var bound = false
    var pending = false
    var refreshAt: Instant?
  }

  public let configuration: Configuration
  public private(set) var state: State = .idle
  public private(set) var relayedAddress: TransportAddress?
  public private(set) var mappedAddress: TransportAddress?

  private var realm: String?
  private var nonce: String?
  private var key: [UInt8]?
  /// 438 answers in a row; a server that keeps rejecting fresh nonces is given up on.
  private var staleNonces = 0
  private var refreshAt: Instant?
  private var expiresAt: Instant?
  private var permissions: [TransportAddress.IP: Permission] = [:]
  private var channels: [TransportAddress: Channel] = [:]
  private var channelPeers: [UInt16: TransportAddress] = [:]
  private var nextChannel = ChannelData.numbers.lowerBound
  private var transactions: [STUNTransactionID: Transaction] = [:]
  private var transmits: [[UInt8]] = []
  private var events: [Event] = []
  private var random: SplitMix64

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
    var deadlines = transactions.values.map(\.deadline)
    if state == .allocated {
      if let refreshAt { deadlines.append(refreshAt) }
      if let expiresAt { deadlines.append(expiresAt) }
      deadlines += permissions.values.filter { $0.installed && !$0.pending }.compactMap(\.refreshAt)
      deadlines += channels.values.filter { $0.bound && !$0.pending }.compactMap(\.refreshAt)
    }
    return deadlines.min()
  }

  // MARK: - Requests

  private mutating func request(_ kind: Kind, now: Instant) {
    let id = STUNTransactionID.random(using: &random)
    var message: STUNMessage
    switch kind {
    case .allocate:
      message = STUNMessage(type: .init(.allocate, .request), transactionID: id)
      message.append(.requestedTransport, [17, 0, 0, 0])  // UDP (RFC 8656 §18.7)
      message.append(.lifetime, uint32: UInt32(configuration.requestedLifetime.components.seconds))
    case .refresh(let closing):
      message = STUNMessage(type: .init(.refresh, .request), transactionID: id)
      message.append(.lifetime, uint32: closing ? 0 : UInt32(configuration.requestedLifetime.components.seconds))
    case .createPermission(let ip):
      message = STUNMessage(type: .init(.createPermission, .request), transactionID: id)
      message.append(.xorPeerAddress, address: TransportAddress(ip: ip, port: 0), xor: true)
    case .channelBind(let peer, let channel):
      message = STUNMessage(type: .init(.channelBind, .request), transactionID: id)
      message.append(.channelNumber, [UInt8(channel >> 8), UInt8(channel & 0xff), 0, 0])
      message.append(.xorPeerAddress, address: peer, xor: true)
    }
    if !configuration.software.isEmpty { message.append(.software, text: configuration.software) }
    var integrity: STUNMessage.Integrity?
    if let key, let realm, let nonce {
      message.append(.username, text: configuration.username)
      message.append(.realm, text: realm)
      message.append(.nonce, text: nonce)
      integrity = .sha1(key: key)
    }
    let bytes = message.encoded(integrity: integrity, fingerprint: true)
    let timeout = configuration.reliable ? configuration.reliableTimeout : configuration.initialRTO
    transactions[id] = Transaction(kind: kind, bytes: bytes, sent: 1, deadline: now + timeout)
    transmits.append(bytes)
  }

  private mutating func sendIndication(_ data: [UInt8], to peer: TransportAddress) -> [UInt8] {
    var message = STUNMessage(type: .init(.send, .indication), transactionID: .random(using: &random))
    message.append(.xorPeerAddress, address: peer, xor: true)
    message.append(.data, data)
    return message.encoded()
  }

  private mutating func retransmit(now: Instant) {
    for (id, transaction) in transactions where transaction.deadline <= now {
      guard transaction.sent < configuration.maxTransmissions, !configuration.reliable else {
        transactions[id] = nil
        timedOut(transaction.kind)
        continue
      }
      var updated = transaction
      updated.sent += 1
      updated.deadline = now + configuration.initialRTO * (1 << min(updated.sent - 1, 6))
      transactions[id] = updated
      transmits.append(transaction.bytes)
    }
  }

  private mutating func timedOut(_ kind: Kind) {
    switch kind {
    case .allocate: fail("the TURN server did not answer the Allocate request")
    case .refresh(closing: false): fail("the TURN server stopped answering Refresh requests")
    case .refresh(closing: true): break
    case .createPermission(let ip): permissionFailed(ip, reason: "no answer to CreatePermission")
    case .channelBind(let peer, let channel): unbind(peer, channel)
    }
  }

  // MARK: - Responses

  private mutating func handleResponse(_ response: STUNMessage, now: Instant) {
    guard let transaction = transactions[response.transactionID] else { return }
    // Once credentials are in use, answers must carry a valid MESSAGE-INTEGRITY, except the
    // 401/438 challenges that hand out a new realm or nonce (RFC 8489 §9.2.4).
    let code = response.messageClass == .errorResponse ? (try? response.errorCode)??.code : nil
    if let key, code != 401, code != 438, !response.verifyIntegrity(key: key) { return }
    transactions[response.transactionID] = nil
    if let code {
      handleError(transaction.kind, code: code, reason: ((try? response.errorCode)??.reason) ?? "", response: response, now: now)
    } else {
      staleNonces = 0
      handleSuccess(transaction.kind, response: response, now: now)
    }
  }

  private mutating func handleSuccess(_ kind: Kind, response: STUNMessage, now: Instant) {
    switch kind {
    case .allocate:
      guard state == .allocating else { return }
      guard let relayed = try? response.xorRelayedAddress else {
        fail("the Allocate answer has no XOR-RELAYED-ADDRESS")
        return
      }
      relayedAddress = relayed
      mappedAddress = try? response.xorMappedAddress
      state = .allocated
      let lifetime = scheduleRefresh(response, now: now)
      events.append(.allocated(relayed: relayed, mapped: mappedAddress, lifetime: lifetime))
    case .refresh(closing: true):
      break
    case .refresh(closing: false):
      guard state == .allocated else { return }
      events.append(.refreshed(lifetime: scheduleRefresh(response, now: now)))
    case .createPermission(let ip):
      guard state == .allocated, var permission = permissions[ip] else { return }
      let queued = permission.queue
      let firstTime = !permission.installed
      permission.installed = true
      permission.pending = false
      permission.queue = []
      permission.refreshAt = now + configuration.permissionLifetime - .seconds(60)
      permissions[ip] = permission
      if firstTime { events.append(.permissionCreated(ip)) }
      for (peer, data) in queued { send(data, to: peer, now: now) }
    case .channelBind(let peer, let channel):
      guard state == .allocated, channels[peer]?.number == channel else { return }
      let firstTime = channels[peer]?.bound == false
      let refreshAt = now + configuration.channelLifetime - .seconds(60)
      channels[peer]?.bound = true
      channels[peer]?.pending = false
      channels[peer]?.refreshAt = refreshAt
      // A channel binding installs or refreshes the peer's permission too (RFC 8656 §12.2).
      var permission = permissions[peer.ip] ?? Permission()
      permission.installed = true
      permission.refreshAt = permission.refreshAt ?? now + configuration.permissionLifetime - .seconds(60)
      permissions[peer.ip] = permission
      if firstTime { events.append(.channelBound(peer: peer, channel: channel)) }
    }
  }

  private mutating func handleError(_ kind: Kind, code: Int, reason: String, response: STUNMessage, now: Instant) {
    switch code {
    case 401 where key == nil || (try? response.realm) != realm:
      // The challenge (RFC 8489 §9.2.3): learn realm and nonce, then ask again with credentials.
      guard let newRealm = try? response.realm, let newNonce = try? response.nonce else {
        fail("401 without REALM and NONCE from the TURN server")
        return
      }
      realm = newRealm
      nonce = newNonce
      key = STUNMessage.longTermKey(username: configuration.username, realm: newRealm, password: configuration.password)
      request(kind, now: now)
      return
    case 438:
      staleNonces += 1
      guard staleNonces <= 3, let newNonce = try? response.nonce else {
        fail("the TURN server keeps rejecting its own nonces (438 Stale Nonce)")
        return
      }
      nonce = newNonce
      if let newRealm = try? response.realm, newRealm != realm {
        realm = newRealm
        key = STUNMessage.longTermKey(username: configuration.username, realm: newRealm, password: configuration.password)
      }
      request(kind, now: now)
      return
    default:
      break
    }
    let text = code == 401 ? "401 \(reason): wrong username or password for realm '\(realm ?? "")'" : "\(code) \(reason)"
    switch kind {
    case .allocate: fail("Allocate refused: \(text)")
    case .refresh(closing: false): fail("allocation lost: Refresh refused: \(text)")
    case .refresh(closing: true): break
    case .createPermission(let ip): permissionFailed(ip, reason: text)
    case .channelBind(let peer, let channel): unbind(peer, channel)
    }
  }

  /// Takes the granted LIFETIME (RFC 8656 §7.3) and schedules the next Refresh; returns it.
  private mutating func scheduleRefresh(_ response: STUNMessage, now: Instant) -> Duration {
    let granted = ((try? response.lifetime) ?? nil).map { Duration.seconds($0) } ?? configuration.requestedLifetime
    expiresAt = now + granted
    refreshAt = now + max(granted - configuration.refreshMargin, granted / 2)
    return granted
  }

  private mutating func fail(_ reason: String) {
    guard state != .failed && state != .closed else { return }
    state = .failed
    transactions = [:]
    refreshAt = nil
    expiresAt = nil
    events.append(.failed(reason: reason))
  }

  /// Drops the permission and the data held for it.
  private mutating func permissionFailed(_ ip: TransportAddress.IP, reason: String) {
    permissions[ip] = nil
    events.append(.permissionFailed(ip, reason: reason))
  }

  /// A channel that could not be bound or refreshed: data to the peer goes as Send indications.
  private mutating func unbind(_ peer: TransportAddress, _ channel: UInt16) {
    channels[peer] = nil
    channelPeers[channel] = nil
  }
}

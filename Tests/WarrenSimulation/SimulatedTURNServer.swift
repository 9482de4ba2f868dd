internal import WarrenSTUN
internal import WarrenTURN
public import WarrenPrimitives

/// A TURN server on the simulated network's public side (RFC 8656), written for the simulation on
/// the real STUN codec: long-term credentials with realm and nonce (a 401 first), Allocate,
/// Refresh, CreatePermission, ChannelBind; Send indications and ChannelData relayed to peers that
/// have a permission, and what peers send to a relayed address relayed back as ChannelData (on a
/// bound channel) or Data indications. One allocation per client address as the server sees it
/// (after its NAT), as a real server keys them by 5-tuple.
public final class SimulatedTURNServer {
  public let address: TransportAddress
  public let username: String
  public let password: String
  let realm = "warren.test"
  let nonce = "simulated-nonce"

  struct Allocation {
    let relayed: TransportAddress
    var permissions: Set<TransportAddress.IP> = []
    var channels: [UInt16: TransportAddress] = [:]
  }

  /// Allocations by the client's address as the server sees it.
  private(set) var allocations: [TransportAddress: Allocation] = [:]
  private var nextPort: UInt16 = 50000
  private var random = SplitMix64(seed: 8656)

  public init(address: TransportAddress, username: String = "warren", password: String = "secret") {
    self.address = address
    self.username = username
    self.password = password
  }

  /// Every relayed address it handed out.
  public var relayedAddresses: Set<TransportAddress> { Set(allocations.values.map(\.relayed)) }

  /// A datagram from `client` to the server: the answers to send back to `client`, and the
  /// datagrams to relay, from a relayed address to a peer.
  func handle(_ bytes: [UInt8], from client: TransportAddress) -> (answers: [[UInt8]], relayed: [(from: TransportAddress, to: TransportAddress, bytes: [UInt8])]) {
    if ChannelData.looksLikeChannelData(bytes) {
      guard let allocation = allocations[client], let message = try? ChannelData(parsing: bytes),
        let peer = allocation.channels[message.channel]
      else { return ([], []) }
      return ([], [(allocation.relayed, peer, message.data)])
    }
    guard let message = try? STUNMessage(parsing: bytes) else { return ([], []) }
    if message.messageClass == .indication, message.method == .send {
      guard let allocation = allocations[client], let peer = try? message.xorPeerAddress,
        allocation.permissions.contains(peer.ip), let data = message.attribute(.data)?.value
      else { return ([], []) }
      return ([], [(allocation.relayed, peer, data)])
    }
    guard message.messageClass == .request else { return ([], []) }
    let key = STUNMessage.longTermKey(username: username, realm: realm, password: password)
    guard (try? message.username) == username, (try? message.realm) == realm, message.verifyIntegrity(key: key),
      (try? message.nonce) == nonce
    else {
      return ([error(message, 401, "Unauthorized", challenge: true)], [])
    }
    var response = STUNMessage(type: .init(message.method, .successResponse), transactionID: message.transactionID)
    switch message.method {
    case .allocate:
      if allocations[client] == nil {
        allocations[client] = Allocation(relayed: TransportAddress(ip: address.ip, port: nextPort))
        nextPort += 1
      }
      response.append(.xorRelayedAddress, address: allocations[client]!.relayed, xor: true)
      response.append(.xorMappedAddress, address: client, xor: true)
      response.append(.lifetime, uint32: 600)
    case .refresh:
      guard allocations[client] != nil else { return ([error(message, 437, "Allocation Mismatch")], []) }
      let lifetime = (try? message.lifetime) ?? nil ?? 600
      if lifetime == 0 { allocations[client] = nil }
      response.append(.lifetime, uint32: min(lifetime, 600))
    case .createPermission:
      guard allocations[client] != nil, let peer = try? message.xorPeerAddress else { return ([error(message, 400, "Bad Request")], []) }
      allocations[client]!.permissions.insert(peer.ip)
    case .channelBind:
      guard allocations[client] != nil, let peer = try? message.xorPeerAddress, let value = message.attribute(.channelNumber)?.value,
        value.count == 4
      else { return ([error(message, 400, "Bad Request")], []) }
      allocations[client]!.channels[UInt16(value[0]) << 8 | UInt16(value[1])] = peer
      allocations[client]!.permissions.insert(peer.ip)
    default:
      return ([error(message, 400, "Bad Request")], [])
    }
    return ([response.encoded(integrity: .sha1(key: key), fingerprint: true)], [])
  }

  /// A datagram from `peer` to the relayed address `relayed`: the client it goes to and the bytes
  /// (ChannelData on a bound channel, else a Data indication); nothing without a permission.
  func fromPeer(_ peer: TransportAddress, to relayed: TransportAddress, _ data: [UInt8]) -> (client: TransportAddress, bytes: [UInt8])? {
    guard let (client, allocation) = allocations.first(where: { $0.value.relayed == relayed }), allocation.permissions.contains(peer.ip)
    else { return nil }
    if let channel = allocation.channels.first(where: { $0.value == peer })?.key {
      return (client, ChannelData(channel: channel, data: data).encoded())
    }
    var indication = STUNMessage(type: .init(.data, .indication), transactionID: .random(using: &random))
    indication.append(.xorPeerAddress, address: peer, xor: true)
    indication.append(.data, data)
    return (client, indication.encoded(fingerprint: true))
  }

  private func error(_ request: STUNMessage, _ code: Int, _ reason: String, challenge: Bool = false) -> [UInt8] {
    var response = STUNMessage(type: .init(request.method, .errorResponse), transactionID: request.transactionID)
    try? response.appendErrorCode(code, reason: reason)
    if challenge {
      response.append(.realm, text: realm)
      response.append(.nonce, text: nonce)
    }
    return response.encoded(fingerprint: true)
  }
}

internal import WarrenSTUN
internal import WarrenPrimitives

/// The client's transactions with the server (RFC 8656 §7–§12 over RFC 8489 §6): requests with
/// long-term credentials and retransmission, and what each answer does to the allocation, its
/// permissions and channels (a 401 or 438 is answered once with the server's realm and nonce).
extension TURNClient {
  // MARK: - Requests

  mutating func request(_ kind: Kind, now: Instant) {
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

  mutating func sendIndication(_ data: [UInt8], to peer: TransportAddress) -> [UInt8] {
    var message = STUNMessage(type: .init(.send, .indication), transactionID: .random(using: &random))
    message.append(.xorPeerAddress, address: peer, xor: true)
    message.append(.data, data)
    return message.encoded()
  }

  mutating func retransmit(now: Instant) {
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

  mutating func timedOut(_ kind: Kind) {
    switch kind {
    case .allocate: fail("the TURN server did not answer the Allocate request")
    case .refresh(closing: false): fail("the TURN server stopped answering Refresh requests")
    case .refresh(closing: true): break
    case .createPermission(let ip): permissionFailed(ip, reason: "no answer to CreatePermission")
    case .channelBind(let peer, let channel): unbind(peer, channel)
    }
  }

  // MARK: - Responses

  mutating func handleResponse(_ response: STUNMessage, now: Instant) {
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

  mutating func handleSuccess(_ kind: Kind, response: STUNMessage, now: Instant) {
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

  mutating func handleError(_ kind: Kind, code: Int, reason: String, response: STUNMessage, now: Instant) {
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
  mutating func scheduleRefresh(_ response: STUNMessage, now: Instant) -> Duration {
    let granted = ((try? response.lifetime) ?? nil).map { Duration.seconds($0) } ?? configuration.requestedLifetime
    expiresAt = now + granted
    refreshAt = now + max(granted - configuration.refreshMargin, granted / 2)
    return granted
  }

  mutating func fail(_ reason: String) {
    guard state != .failed && state != .closed else { return }
    state = .failed
    transactions = [:]
    refreshAt = nil
    expiresAt = nil
    events.append(.failed(reason: reason))
  }

  /// Drops the permission and the data held for it.
  mutating func permissionFailed(_ ip: TransportAddress.IP, reason: String) {
    permissions[ip] = nil
    events.append(.permissionFailed(ip, reason: reason))
  }

  /// A channel that could not be bound or refreshed: data to the peer goes as Send indications.
  mutating func unbind(_ peer: TransportAddress, _ channel: UInt16) {
    channels[peer] = nil
    channelPeers[channel] = nil
  }
}

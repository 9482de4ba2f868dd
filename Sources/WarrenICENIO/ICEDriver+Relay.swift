internal import Logging
internal import NIOCore
internal import Synchronization
public import WarrenICE
public import WarrenSTUN
internal import WarrenTURN

/// Relay candidates (RFC 8445 §5.1.1.2, RFC 8656): a TURN allocation made from a host socket. The
/// agent's datagrams from the relayed address go through the TURN client to the server; what the
/// server relays back is handed to the agent as if it had arrived at the relayed address.
extension ICEDriver {
  /// One allocation: the TURN client, the host socket it talks from, and whoever waits for it.
  struct Relay {
    var client: TURNClient
    let channel: any Channel
    let base: TransportAddress
    var waiter: CheckedContinuation<Candidate?, Never>?
  }

  /// What the TURN clients reported under the lock, to log and deliver after it.
  struct RelayOutput {
    var data: [[UInt8]] = []
    var notes: [(level: Logger.Level, message: String, server: TransportAddress)] = []
  }

  /// Allocates a relayed address on the TURN server at `server` (UDP, long-term credentials)
  /// from the first host socket of the same family, and adds it as a relay candidate. `nil` when
  /// the server refuses or does not answer within `timeout` (the reason is logged).
  public func gatherRelay(server: TransportAddress, username: String, password: String, timeout: Duration = .seconds(5)) async -> Candidate? {
    let host = state.withLock { state in
      state.channels.filter { $0.key.ip.isIPv4 == server.ip.isIPv4 }.min { $0.key.port < $1.key.port }
    }
    guard let (base, channel) = host else {
      logger.warning("no host socket of the TURN server's address family; no relay candidate", metadata: ["server": "\(server)"])
      return nil
    }
    let timer = Task {
      guard (try? await Task.sleep(for: timeout)) != nil else { return }
      self.expireRelayWaiters(server: server)
    }
    defer { timer.cancel() }
    let candidate: Candidate? = await withCheckedContinuation { continuation in
      var started = false
      update { state, now in
        guard state.relays[server] == nil else { return }
        var client = TURNClient(
          configuration: .init(username: username, password: password), seed: UInt64.random(in: 0...UInt64.max))
        client.allocate(now: now)
        state.relays[server] = Relay(client: client, channel: channel, base: base, waiter: continuation)
        started = true
      }
      if !started { continuation.resume(returning: nil) }
    }
    if candidate == nil {
      logger.warning("no relay candidate from this TURN server (refused, or no answer in \(timeout))", metadata: ["turn": "\(server)"])
      update { state, now in state.relays[server]?.client.close(now: now) }
    }
    return candidate
  }

  /// Gives up on allocations still waiting after `timeout`.
  func expireRelayWaiters(server: TransportAddress) {
    update { state, _ in
      guard let waiter = state.relays[server]?.waiter else { return }
      state.relays[server]?.waiter = nil
      waiter.resume(returning: nil)
    }
  }

  /// Logs what the TURN clients reported and hands relayed application data on, in order.
  func report(_ output: RelayOutput) {
    for note in output.notes { logger.log(level: note.level, "\(note.message)", metadata: ["turn": "\(note.server)"]) }
    if let onData { for bytes in output.data { onData(bytes) } }
  }
}

extension ICEDriver.State {
  /// Moves every TURN client's datagrams to the writes and its events to the agent; true when
  /// anything moved.
  mutating func drainRelays(
    now: ContinuousClock.Instant, onData: Bool, into writes: inout [(any Channel, SocketAddress, [UInt8])],
    _ output: inout ICEDriver.RelayOutput
  ) -> Bool {
    var moved = false
    for server in Array(relays.keys) {
      guard var relay = relays[server] else { continue }
      while let event = relay.client.pollEvent() {
        moved = true
        switch event {
        case .allocated(let relayed, _, let lifetime):
          relayedBases[relayed] = server
          let candidate = Candidate(type: .relay, address: relayed, base: relayed, server: "\(server)")
          agent.addLocalCandidate(candidate, now: now)
          relay.waiter?.resume(returning: candidate)
          relay.waiter = nil
          output.notes.append((.debug, "TURN allocation \(relayed) for \(lifetime)", server))
        case .failed(let reason):
          if let relayed = relay.client.relayedAddress { relayedBases[relayed] = nil }
          relay.waiter?.resume(returning: nil)
          relay.waiter = nil
          output.notes.append((.warning, "TURN: \(reason); no relay candidate from this server", server))
        case .data(let bytes, let peer):
          guard let relayed = relay.client.relayedAddress else { continue }
          if onData && !STUNMessage.isSTUN(bytes) {
            if agent.acceptData(count: bytes.count, from: peer, to: relayed) { output.data.append(bytes) }
          } else {
            agent.handleReceive(bytes, from: peer, to: relayed, now: now)
          }
        case .permissionFailed(let ip, let reason):
          output.notes.append((.debug, "TURN permission for \(ip) refused: \(reason)", server))
        case .refreshed, .permissionCreated, .channelBound, .closed:
          break
        }
      }
      if let destination = destination(server) {
        while let bytes = relay.client.pollTransmit() {
          moved = true
          writes.append((relay.channel, destination, bytes))
        }
      }
      if relay.client.state == .closed || relay.client.state == .failed, relay.waiter == nil, relay.client.pollTimeout() == nil {
        relays[server] = nil
      } else {
        relays[server] = relay
      }
    }
    return moved
  }
}

internal import WarrenICE
internal import WarrenSTUN
public import WarrenTURN
public import WarrenPrimitives

/// TURN allocations (RFC 8656): made on request, fed into the agent as relayed candidates, and
/// drained together with the agent, which they feed (a check through a relay answered, data
/// relayed in).
extension ICEEndpoint {
  /// Starts an allocation on `server` (long-term credentials in `configuration`), reached over
  /// `link`; nothing when one exists. ``Event/allocated(server:_:)`` or
  /// ``Event/allocationFailed(server:reason:)`` follows.
  public mutating func allocate(on server: TransportAddress, configuration: TURNClient.Configuration, link: RelayLink, seed: UInt64, now: Instant) {
    guard allocations[server] == nil else { return }
    var client = TURNClient(configuration: configuration, seed: seed)
    client.allocate(now: now)
    allocations[server] = Allocation(client: client, link: link)
    drain(now: now)
  }

  /// Whether an allocation on `server` exists or is being made.
  public func hasAllocation(on server: TransportAddress) -> Bool {
    allocations[server] != nil
  }

  /// The relayed address of the allocation on `server`, once allocated.
  public func relayedAddress(on server: TransportAddress) -> TransportAddress? {
    allocations[server]?.client.relayedAddress
  }

  /// Gives up an allocation (released with a Refresh of lifetime 0 if it was made).
  public mutating func release(_ server: TransportAddress, now: Instant) {
    allocations[server]?.client.close(now: now)
    drain(now: now)
  }

  /// The stream connection to `server` closed: its allocation is gone.
  public mutating func streamClosed(_ server: TransportAddress, now: Instant) {
    allocations[server]?.client.transportClosed()
    drain(now: now)
  }

  /// The host addresses `ips` are gone: what was on them leaves the agent — host and
  /// server-reflexive candidates on those bases, and the relayed addresses of allocations made
  /// from them (or whose stream left from them: `streamsFrom` says which servers), which are
  /// dropped. Returns the servers whose allocation went.
  public mutating func removeHostAddresses(
    _ ips: Set<TransportAddress.IP>, bases: [TransportAddress], streamsFrom: Set<TransportAddress> = [], now: Instant
  ) -> [TransportAddress] {
    var gone = Set(bases.filter { ips.contains($0.ip) })
    var lost: [TransportAddress] = []
    for (server, allocation) in allocations {
      let onVanished: Bool
      switch allocation.link {
      case .datagram(let base): onVanished = ips.contains(base.ip)
      case .stream: onVanished = streamsFrom.contains(server)
      }
      guard onVanished else { continue }
      if let relayed = allocation.client.relayedAddress {
        gone.insert(relayed)
        relayedBases[relayed] = nil
      }
      allocations[server] = nil
      lost.append(server)
    }
    agent.removeLocalCandidates(onBases: gone, now: now)
    drain(now: now)
    return lost
  }

  /// Releases every allocation and closes the agent.
  public mutating func close(now: Instant) {
    for index in allocations.values.indices { allocations.values[index].client.close(now: now) }
    agent.close()
    drain(now: now)
  }

  /// Moves everything the agent and the TURN clients have for each other, and for the owner,
  /// until neither has anything left (bounded: a loop between them would be a bug, not a wait).
  mutating func drain(now: Instant) {
    for _ in 0..<16 {
      var moved = false
      while let transmit = agent.pollTransmit() {
        moved = true
        if let server = relayedBases[transmit.from] {
          _ = allocations[server]?.client.send(transmit.bytes, to: transmit.to, now: now)
        } else {
          outbound.append(.datagram(from: transmit.from, to: transmit.to, bytes: transmit.bytes))
        }
      }
      while let event = agent.pollEvent() {
        moved = true
        // A relayed pair that carries traffic, or may at once (the standby), gets its channel.
        switch event {
        case .selectedPairChanged(let pair), .standbyChanged(let pair?):
          if pair.local.type == .relay, let server = relayedBases[pair.local.base] {
            allocations[server]?.client.bindChannel(to: pair.remote.address, now: now)
          }
        default:
          break
        }
        events.append(.agent(event))
      }
      moved = drainAllocations(now: now) || moved
      if !moved { break }
    }
  }

  /// Each TURN client's events into the agent and the owner's events, its datagrams out.
  private mutating func drainAllocations(now: Instant) -> Bool {
    var moved = false
    var finished: [TransportAddress] = []
    // In place: a copy of an allocation would copy its client's queues at the first change.
    for index in allocations.values.indices {
      let server = allocations.keys[index]
      while let event = allocations.values[index].client.pollEvent() {
        moved = true
        switch event {
        case .allocated(let relayed, let mapped, let lifetime):
          relayedBases[relayed] = server
          // Its related address is the mapped one the server saw us at (RFC 8445 §5.1.1.2).
          let candidate = Candidate(type: .relay, address: relayed, base: relayed, server: "\(server)", related: mapped ?? relayed)
          agent.addLocalCandidate(candidate, now: now)
          for remote in agent.remoteCandidates { allocations.values[index].client.permit(remote.address.ip, now: now) }
          events.append(.allocated(server: server, candidate))
          events.append(.relayNote(server: server, "TURN allocation \(relayed) for \(lifetime)"))
        case .failed(let reason):
          if let relayed = allocations.values[index].client.relayedAddress { relayedBases[relayed] = nil }
          events.append(.allocationFailed(server: server, reason: reason))
        case .data(let bytes, let peer):
          guard let relayed = allocations.values[index].client.relayedAddress else { continue }
          if deliversDataDirectly && !STUNMessage.isSTUN(bytes) {
            if agent.acceptData(count: bytes.count, from: peer, to: relayed, now: now) { events.append(.relayedData(bytes)) }
          } else {
            agent.handleReceive(bytes, from: peer, to: relayed, now: now)
          }
        case .permissionFailed(let ip, let reason):
          events.append(.relayNote(server: server, "TURN permission for \(ip) refused: \(reason)"))
        case .refreshed, .permissionCreated, .channelBound, .closed:
          break
        }
      }
      while let bytes = allocations.values[index].client.pollTransmit() {
        moved = true
        switch allocations.values[index].link {
        case .datagram(let base): outbound.append(.datagram(from: base, to: server, bytes: bytes))
        case .stream: outbound.append(.stream(server: server, bytes: bytes))
        }
      }
      let client = allocations.values[index].client
      if client.state == .closed || client.state == .failed, client.pollTimeout() == nil { finished.append(server) }
    }
    for server in finished { allocations[server] = nil }
    return moved
  }
}

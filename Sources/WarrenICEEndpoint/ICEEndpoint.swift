public import WarrenICE
internal import WarrenSTUN
internal import WarrenTURN
public import WarrenPrimitives

/// One end of an ICE session: the agent and the TURN allocations its relayed candidates live on
/// (RFC 8445 §5.1.1.2, RFC 8656), as one sans-IO value. It owns no socket and reads no clock;
/// a driver feeds it what arrived and the time, and sends what it asks for.
///
/// What the composition adds to its parts: a datagram the agent sends from a relayed address goes
/// through that allocation's TURN client to its server, and what the server relays back reaches
/// the agent as if it had arrived at the relayed address; every remote candidate's address is
/// permitted on every allocation as soon as it is known, so that the peer's checks through our
/// relay get through before ours reach the pair; the pair that carries traffic, and the standby
/// that may carry it at once, get a channel (RFC 8656 §12) if relayed; and the data path's route.
public struct ICEEndpoint: Sendable {
  public typealias Instant = ContinuousClock.Instant

  /// How an allocation reaches its TURN server.
  public enum RelayLink: Sendable, Hashable {
    /// Datagrams from the host candidate's socket at `base`.
    case datagram(base: TransportAddress)
    /// A TCP or TLS connection of the driver's, one per server.
    case stream
  }

  /// What to send.
  public enum Outbound: Sendable, Hashable {
    /// A datagram from the host socket at `from`.
    case datagram(from: TransportAddress, to: TransportAddress, bytes: [UInt8])
    /// Bytes for the stream connection to the TURN server `server`.
    case stream(server: TransportAddress, bytes: [UInt8])
  }

  /// What happened.
  public enum Event: Sendable, Hashable {
    case agent(ICEEvent)
    /// The allocation on `server` gave this relayed candidate (added to the agent).
    case allocated(server: TransportAddress, Candidate)
    /// The allocation on `server` failed or is gone.
    case allocationFailed(server: TransportAddress, reason: String)
    /// Something worth a debug line about the allocation on `server`.
    case relayNote(server: TransportAddress, String)
    /// Application data relayed to us (Data indication or ChannelData through the TURN client),
    /// for an owner that takes data directly (`deliversDataDirectly`).
    case relayedData([UInt8])
  }

  /// Where an application datagram goes (``route(byteCount:now:)``).
  public enum Route: Sendable, Hashable {
    /// From the host socket at `local` to `remote`.
    case direct(local: TransportAddress, remote: TransportAddress)
    /// From the host socket at `base` to the TURN server `server`, behind a ChannelData header
    /// on `channel` (RFC 8656 §12.4).
    case channel(base: TransportAddress, server: TransportAddress, channel: UInt16)
    /// Through a TURN client (before its channel is bound, or over a stream): hand the datagram to
    /// ``sendRelayed(_:now:)``.
    case relayClient(Transmit)
  }

  struct Allocation: Sendable {
    var client: TURNClient
    let link: RelayLink
  }

  public var agent: ICEAgent
  /// Whether relayed application data is handed out as ``Event/relayedData(_:)`` (an owner that
  /// delivers data itself) rather than as the agent's `.data` events.
  public let deliversDataDirectly: Bool
  var allocations: [TransportAddress: Allocation] = [:]
  /// The server of each relayed address.
  var relayedBases: [TransportAddress: TransportAddress] = [:]
  var outbound: [Outbound] = []
  var events: [Event] = []

  public init(agent: ICEAgent, deliversDataDirectly: Bool = false) {
    self.agent = agent
    self.deliversDataDirectly = deliversDataDirectly
  }

  // MARK: - Inputs

  /// Adds a remote candidate and permits its address on every allocation.
  public mutating func addRemoteCandidate(_ candidate: Candidate, now: Instant) {
    agent.addRemoteCandidate(candidate, now: now)
    for index in allocations.values.indices { allocations.values[index].client.permit(candidate.address.ip, now: now) }
    drain(now: now)
  }

  /// A datagram that arrived on the host socket at `local` from `remote`: from one of our TURN
  /// servers through that socket, to its TURN client; anything else, to the agent.
  public mutating func receive(_ bytes: [UInt8], from remote: TransportAddress, to local: TransportAddress, now: Instant) {
    if isRelayServer(remote, at: local) {
      _ = allocations[remote]?.client.handleReceive(bytes, now: now)
    } else {
      agent.handleReceive(bytes, from: remote, to: local, now: now)
    }
    drain(now: now)
  }

  /// Whether `remote` is the TURN server of an allocation made from the host socket at `local`.
  public func isRelayServer(_ remote: TransportAddress, at local: TransportAddress) -> Bool {
    allocations[remote].map { $0.link == .datagram(base: local) } ?? false
  }

  /// The peer bound to `channel` on `server`'s allocation, and the relayed address it reaches,
  /// for a driver that reads ChannelData itself (application data on a bound channel).
  public func channelPeer(server: TransportAddress, channel: UInt16) -> (peer: TransportAddress, relayed: TransportAddress)? {
    guard let allocation = allocations[server], let relayed = allocation.client.relayedAddress,
      let peer = allocation.client.peer(onChannel: channel)
    else { return nil }
    return (peer, relayed)
  }

  /// A message from a TURN server's stream connection.
  public mutating func receive(streamBytes bytes: [UInt8], from server: TransportAddress, now: Instant) {
    _ = allocations[server]?.client.handleReceive(bytes, now: now)
    drain(now: now)
  }

  /// Whether an application datagram (not STUN) of `count` bytes from `remote` at `local` is
  /// delivered (``ICEAgent/acceptData(count:from:to:now:)``).
  public mutating func acceptData(count: Int, from remote: TransportAddress, to local: TransportAddress, now: Instant) -> Bool {
    agent.acceptData(count: count, from: remote, to: local, now: now)
  }

  /// Runs the agent's and the TURN clients' timers that are due.
  public mutating func handleTimeout(now: Instant) {
    agent.handleTimeout(now: now)
    for index in allocations.values.indices { allocations.values[index].client.handleTimeout(now: now) }
    drain(now: now)
  }

  /// Applies `change` to the agent and carries out what follows (for inputs that belong to the
  /// agent alone: credentials, local candidates, probes, …).
  public mutating func withAgent<Result>(now: Instant, _ change: (inout ICEAgent) -> Result) -> Result {
    let result = change(&agent)
    drain(now: now)
    return result
  }

  // MARK: - The data path

  /// The route of an application datagram of `byteCount` bytes over the selected pair (counted
  /// on it); `nil` before a pair is selected.
  public mutating func route(byteCount: Int, now: Instant) -> Route? {
    guard let id = agent.route(byteCount: byteCount, now: now) else { return nil }
    if let server = relayedBases[id.local] {
      if let allocation = allocations[server], case .datagram(let base) = allocation.link,
        let number = allocation.client.boundChannel(to: id.remote)
      {
        return .channel(base: base, server: server, channel: number)
      }
      return .relayClient(Transmit(from: id.local, to: id.remote, bytes: []))
    }
    return .direct(local: id.local, remote: id.remote)
  }

  /// Sends an application datagram through the TURN client of its relayed address
  /// (``Route/relayClient(_:)``).
  public mutating func sendRelayed(_ transmit: Transmit, now: Instant) {
    if let server = relayedBases[transmit.from] {
      _ = allocations[server]?.client.send(transmit.bytes, to: transmit.to, now: now)
    }
    drain(now: now)
  }

  // MARK: - Outputs

  public mutating func pollOutbound() -> Outbound? {
    outbound.isEmpty ? nil : outbound.removeFirst()
  }

  public mutating func pollEvent() -> Event? {
    events.isEmpty ? nil : events.removeFirst()
  }

  /// When ``handleTimeout(now:)`` must run next.
  public func pollTimeout() -> Instant? {
    var deadline = agent.pollTimeout()
    for allocation in allocations.values {
      if let due = allocation.client.pollTimeout(), deadline.map({ due < $0 }) ?? true { deadline = due }
    }
    return deadline
  }
}

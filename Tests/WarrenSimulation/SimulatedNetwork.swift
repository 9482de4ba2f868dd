internal import Testing
public import WarrenICE
public import WarrenICEEndpoint
internal import WarrenSTUN
internal import WarrenTURN
public import WarrenPrimitives

/// Something that runs in a ``SimulatedNetwork``'s virtual time next to its agents — signaling
/// and sessions, in the session tests. It runs after every step of the network, where it may read
/// the agents' events and replace agents, and says when it must run next.
public protocol SimulationCompanion: AnyObject {
  /// When the companion must run next at the latest, if it waits for a time.
  func nextDeadline() -> SimulatedNetwork.Instant?
  /// Runs at `network.now`.
  func step(_ network: SimulatedNetwork)
}

/// A network in virtual time for ICE agents: datagrams take `latency`, may be lost or reordered,
/// and may cross NATs. Nothing sleeps: the loop jumps to the next delivery or agent deadline.
public final class SimulatedNetwork {
  public typealias Instant = ContinuousClock.Instant

  public enum NATBehaviour: Sendable {
    /// Endpoint-independent mapping and filtering ("full cone").
    case endpointIndependent
    /// Endpoint-independent mapping, address-dependent filtering.
    case addressDependentFiltering
    /// Endpoint-independent mapping, address-and-port-dependent filtering ("port restricted").
    case addressAndPortDependentFiltering
    /// A new mapping for every destination ("symmetric").
    case symmetric
  }

  public struct NAT {
    public let publicIP: TransportAddress.IP
    public let behaviour: NATBehaviour
    public var mappings: [String: UInt16] = [:]  // key -> public port
    public var reverse: [UInt16: (internal: TransportAddress, allowed: Set<String>)] = [:]
    public var nextPort: UInt16 = 40000

    public init(publicIP: TransportAddress.IP, behaviour: NATBehaviour) {
      self.publicIP = publicIP
      self.behaviour = behaviour
    }

    /// Maps an outgoing datagram's source.
    public mutating func outbound(from source: TransportAddress, to destination: TransportAddress) -> TransportAddress {
      let key = behaviour == .symmetric ? "\(source)>\(destination)" : "\(source)"
      let port: UInt16
      if let existing = mappings[key] {
        port = existing
      } else {
        port = nextPort
        nextPort += 1
        mappings[key] = port
        reverse[port] = (source, [])
      }
      reverse[port]!.allowed.insert(filterKey(destination))
      return TransportAddress(ip: publicIP, port: port)
    }

    /// The internal destination of an incoming datagram, if the filter lets it in.
    public func inbound(to destination: TransportAddress, from source: TransportAddress) -> TransportAddress? {
      guard destination.ip == publicIP, let entry = reverse[destination.port] else { return nil }
      switch behaviour {
      case .endpointIndependent: return entry.internal
      default: return entry.allowed.contains(filterKey(source)) ? entry.internal : nil
      }
    }

    private func filterKey(_ address: TransportAddress) -> String {
      switch behaviour {
      case .endpointIndependent, .addressDependentFiltering: "\(address.ip)"
      case .addressAndPortDependentFiltering, .symmetric: "\(address)"
      }
    }
  }

  public struct Host {
    /// The agent and its TURN allocations.
    public var endpoint: ICEEndpoint
    /// Where the agent's socket is; a new agent may get a new port, like a new socket would.
    public var address: TransportAddress
    public var nat: NAT?
    public var received: [[UInt8]] = []
    public var events: [ICEEvent] = []
    /// Relayed candidates its allocations gave, in order.
    public var allocated: [Candidate] = []

    public init(agent: ICEAgent, address: TransportAddress, nat: NAT? = nil) {
      endpoint = ICEEndpoint(agent: agent)
      self.address = address
      self.nat = nat
    }

    /// The endpoint's agent (replacing it keeps the allocations).
    public var agent: ICEAgent {
      get { endpoint.agent }
      set { endpoint.agent = newValue }
    }
  }

  struct Packet {
    let deliverAt: Instant
    let sequence: Int
    let from: TransportAddress
    let to: TransportAddress
    let bytes: [UInt8]
  }

  public var hosts: [Host]
  public var now: Instant
  public let start: Instant
  public var latency: Duration = .milliseconds(10)
  public var lossRate = 0.0
  public var reorderJitter: Duration = .zero
  /// While true, every datagram is dropped (a cut cable, a NAT that lost its state).
  public var blackhole = false
  /// Drops datagrams for which this returns true (source as sent, destination).
  public var drop: ((TransportAddress, TransportAddress) -> Bool)?
  /// Hosts that do not run until the given time (a machine asleep, a stopped process): their
  /// timers do not fire and what reaches them is lost; then their agent runs again, late.
  public var suspendedUntil: [Int: Instant] = [:]
  /// TURN allocations: a relayed address and the host that owns it. Datagrams the host sends from
  /// it leave from it; datagrams to it reach the host (what a TURN server does, without the
  /// TURN framing, which is the TURN client's business).
  public var relays: [TransportAddress: Int] = [:]
  /// STUN servers on the public side: they answer Binding requests with the source address they
  /// saw (RFC 8489 §14.2), as encoded by the real codec.
  public var stunServers: Set<TransportAddress> = []
  /// TURN servers on the public side, by address (``SimulatedTURNServer``).
  public var turnServers: [TransportAddress: SimulatedTURNServer] = [:]
  /// Binding requests a host sent to a STUN server, by transaction, until the answer arrives.
  private var gathering: [STUNTransactionID: (host: Int, mapped: TransportAddress?)] = [:]
  private var inFlight: [Packet] = []
  private var sequence = 0
  private var random = SplitMix64(seed: 99)

  public init(hosts: [Host]) {
    self.hosts = hosts
    start = ContinuousClock.now
    now = start
  }

  /// Runs next to the agents in the same virtual time (see ``SimulationCompanion``).
  public weak var companion: (any SimulationCompanion)?

  public var elapsed: Duration { now - start }

  /// The address other hosts see for host `index` talking to `peer` (its NAT mapping, if any);
  /// what a STUN server would report as server-reflexive.
  public func reflexiveAddress(of index: Int, towards peer: TransportAddress) -> TransportAddress {
    guard hosts[index].nat != nil else { return hosts[index].address }
    return hosts[index].nat!.outbound(from: hosts[index].address, to: peer)
  }

  /// Runs until `done` holds or `limit` of virtual time passes; returns whether `done` held.
  @discardableResult
  public func run(for limit: Duration, until done: (SimulatedNetwork) -> Bool = { _ in false }) -> Bool {
    let end = now + limit
    var steps = 0
    var stalled = 0
    while steps < 200_000 {
      steps += 1
      let before = now
      var delivered = false
      flushTransmits()
      if let companion {
        companion.step(self)
        flushTransmits()
      }
      if done(self) { return true }
      let nextPacket = inFlight.min { ($0.deliverAt, $0.sequence) < ($1.deliverAt, $1.sequence) }
      let nextTimeout = hosts.indices.compactMap { index in
        suspendedUntil[index].flatMap { $0 > now ? $0 : nil } ?? hosts[index].endpoint.pollTimeout()
      }.min()
      let nextCompanion = companion?.nextDeadline()
      guard let next = [nextPacket?.deliverAt, nextTimeout, nextCompanion].compactMap({ $0 }).min(), next <= end else {
        now = end
        return done(self)
      }
      now = max(now, next)
      if let packet = nextPacket, packet.deliverAt <= now {
        inFlight.removeAll { $0.sequence == packet.sequence }
        deliver(packet)
        delivered = true
      }
      for index in hosts.indices where (suspendedUntil[index] ?? now) <= now {
        if let deadline = hosts[index].endpoint.pollTimeout(), deadline <= now {
          hosts[index].endpoint.handleTimeout(now: now)
          // A driver arms its timer at pollTimeout() and fires it again at once while that is in
          // the past; a deadline that a few rounds of handling leave in the past spins the event
          // loop (and starves its sockets), whatever else is in flight.
          var rounds = 0
          while let after = hosts[index].endpoint.pollTimeout(), after <= now {
            rounds += 1
            guard rounds < 4 else {
              Issue.record("agent \(index) still asks for \(after) after handling the timeout at \(now) (state \(hosts[index].agent.state))")
              return false
            }
            hosts[index].endpoint.handleTimeout(now: now)
          }
        }
      }
      drainEvents()
      // An agent whose deadline stays in the past would spin its driver's timer.
      stalled = now == before && !delivered ? stalled + 1 : 0
      if stalled > 100 {
        Issue.record("an agent or the companion keeps asking for a timeout that it does not clear")
        return false
      }
    }
    return done(self)
  }

  /// Server-reflexive gathering (RFC 8445 §5.1.1.2) the way the driver does it: a Binding request
  /// from host `index`'s socket to `server`, through its NAT, answered by the STUN server in this
  /// network. The candidate, or nil when no answer came within a second of virtual time.
  public func gatherServerReflexive(host index: Int, server: TransportAddress) -> Candidate? {
    var random = SplitMix64(seed: UInt64(sequence) &+ 77)
    let request = STUNMessage(type: .init(.binding, .request), transactionID: .random(using: &random))
    gathering[request.transactionID] = (index, nil)
    route(Transmit(from: hosts[index].address, to: server, bytes: request.encoded(fingerprint: true)), from: index)
    run(for: .seconds(1)) { $0.gathering[request.transactionID]?.mapped != nil }
    guard let mapped = gathering.removeValue(forKey: request.transactionID)?.mapped else { return nil }
    return Candidate(type: .serverReflexive, address: mapped, base: hosts[index].address, server: "\(server)")
  }

  /// Host `index` leaves its network for another at once (a laptop leaving Wi-Fi for LTE): its
  /// address and NAT change, datagrams to the old address reach nobody from now on, and its
  /// relayed addresses (allocations made from the old address) are gone. Its agent is told, as a
  /// driver's network monitor tells it: the new host candidate is added and everything on the
  /// old bases removed. Returns the new host candidate, for the test to trickle to the peer.
  @discardableResult
  public func move(host index: Int, to address: TransportAddress, nat: NAT? = nil) -> Candidate {
    let old = hosts[index].address
    let relayed = relays.filter { $0.value == index }.map(\.key)
    for address in relayed { relays[address] = nil }
    hosts[index].address = address
    hosts[index].nat = nat
    let candidate = Candidate(type: .host, address: address)
    hosts[index].agent.addLocalCandidate(candidate, now: now)
    hosts[index].agent.removeLocalCandidates(onBases: Set([old] + relayed), now: now)
    // TURN allocations made from the old address are gone with it.
    _ = hosts[index].endpoint.removeHostAddresses([old.ip], bases: [old], now: now)
    return candidate
  }

  /// Sends application data from host `index` over its selected pair, the way a driver does
  /// (``ICEEndpoint/route(byteCount:now:)``): directly, behind a ChannelData header to the TURN
  /// server on a bound channel, or through the TURN client.
  public func sendData(from index: Int, _ bytes: [UInt8]) -> Bool {
    switch hosts[index].endpoint.route(byteCount: bytes.count, now: now) {
    case nil:
      return false
    case .direct(let local, let remote):
      route(Transmit(from: local, to: remote, bytes: bytes), from: index)
    case .channel(let base, let server, let channel):
      route(Transmit(from: base, to: server, bytes: ChannelData(channel: channel, data: bytes).encoded()), from: index)
    case .relayClient(let transmit):
      hosts[index].endpoint.sendRelayed(Transmit(from: transmit.from, to: transmit.to, bytes: bytes), now: now)
    }
    return true
  }

  /// Starts a TURN allocation for host `index` on the server at `server`, from its socket; the
  /// relayed candidate lands in `hosts[index].allocated` once the server answered.
  public func allocate(host index: Int, on server: TransportAddress) {
    guard let turn = turnServers[server] else { return }
    hosts[index].endpoint.allocate(
      on: server, configuration: TURNClient.Configuration(username: turn.username, password: turn.password),
      link: .datagram(base: hosts[index].address), seed: UInt64(index) &+ 4242, now: now)
  }

  /// Sends application data from host `index` over `pair`, selected or not (a peer that keeps
  /// using a pair it was told to leave).
  public func sendData(from index: Int, over pair: CandidatePair.ID, _ bytes: [UInt8]) {
    route(Transmit(from: pair.local, to: pair.remote, bytes: bytes), from: index)
  }

  private func flushTransmits() {
    for index in hosts.indices {
      // What tests did to the agent directly (`hosts[i].agent.…`) is carried out too.
      hosts[index].endpoint.withAgent(now: now) { _ in }
      while let outbound = hosts[index].endpoint.pollOutbound() {
        if case .datagram(let from, let to, let bytes) = outbound { route(Transmit(from: from, to: to, bytes: bytes), from: index) }
      }
    }
    drainEvents()
  }

  private func drainEvents() {
    for index in hosts.indices {
      while let event = hosts[index].endpoint.pollEvent() {
        switch event {
        case .agent(let event):
          if case .data(let bytes, _) = event { hosts[index].received.append(bytes) }
          hosts[index].events.append(event)
        case .allocated(_, let candidate):
          hosts[index].allocated.append(candidate)
        case .relayedData(let bytes):
          hosts[index].received.append(bytes)
        case .allocationFailed, .relayNote:
          break
        }
      }
    }
  }

  private func route(_ transmit: Transmit, from index: Int) {
    guard !blackhole else { return }
    if lossRate > 0, Double(random.next() % 1_000_000) / 1_000_000 < lossRate { return }
    if let drop, drop(transmit.from, transmit.to) { return }
    var source = transmit.from
    if relays[transmit.from] == nil, hosts[index].nat != nil, !isPublic(transmit.to, behindSameNATAs: index) {
      source = hosts[index].nat!.outbound(from: transmit.from, to: transmit.to)
    }
    let jitter = reorderJitter == .zero ? Duration.zero : reorderJitter * (Double(random.next() % 1000) / 1000)
    sequence += 1
    inFlight.append(Packet(deliverAt: now + latency + jitter, sequence: sequence, from: source, to: transmit.to, bytes: transmit.bytes))
  }

  /// Whether `address` is another host on the same private network (no NAT between them).
  private func isPublic(_ address: TransportAddress, behindSameNATAs index: Int) -> Bool {
    hosts.indices.contains { $0 != index && hosts[$0].address == address && hosts[$0].nat?.publicIP == hosts[index].nat?.publicIP && hosts[$0].nat != nil }
  }

  private func deliver(_ packet: Packet) {
    if let asleep = suspendedUntil.first(where: { $0.value > now && hosts[$0.key].address == packet.to || $0.value > now && hosts[$0.key].nat?.publicIP == packet.to.ip }), asleep.value > now {
      return
    }
    if stunServers.contains(packet.to) {
      answerBinding(packet)
      return
    }
    if let turn = turnServers[packet.to] {
      let (answers, relayed) = turn.handle(packet.bytes, from: packet.from)
      for answer in answers { emit(from: turn.address, to: packet.from, answer) }
      for datagram in relayed where !(drop?(datagram.from, datagram.to) ?? false) { emit(from: datagram.from, to: datagram.to, datagram.bytes) }
      return
    }
    if let turn = turnServers.values.first(where: { $0.relayedAddresses.contains(packet.to) }) {
      if let (client, bytes) = turn.fromPeer(packet.from, to: packet.to, packet.bytes), !(drop?(turn.address, client) ?? false) {
        emit(from: turn.address, to: client, bytes)
      }
      return
    }
    if let message = try? STUNMessage(parsing: packet.bytes), let pending = gathering[message.transactionID] {
      // A STUN server's answer to a host's gathering request: for the gatherer, not the agent.
      if deliveredInside(packet) == pending.host { gathering[message.transactionID]?.mapped = try? message.xorMappedAddress }
      return
    }
    if let owner = relays[packet.to] {
      hosts[owner].endpoint.receive(packet.bytes, from: packet.from, to: packet.to, now: now)
      return
    }
    for index in hosts.indices {
      if hosts[index].address == packet.to && (hosts[index].nat == nil || isPrivatePeer(packet.from, of: index)) {
        hosts[index].endpoint.receive(packet.bytes, from: packet.from, to: packet.to, now: now)
        return
      }
      if let nat = hosts[index].nat, let inside = nat.inbound(to: packet.to, from: packet.from), inside == hosts[index].address {
        hosts[index].endpoint.receive(packet.bytes, from: packet.from, to: inside, now: now)
        return
      }
    }
  }

  /// A datagram a server sends (the public side has no NAT), after the usual latency.
  private func emit(from source: TransportAddress, to destination: TransportAddress, _ bytes: [UInt8]) {
    sequence += 1
    inFlight.append(Packet(deliverAt: now + latency, sequence: sequence, from: source, to: destination, bytes: bytes))
  }

  /// The STUN server's side: a success response carrying the request's source as XOR-MAPPED-ADDRESS.
  private func answerBinding(_ packet: Packet) {
    guard let request = try? STUNMessage(parsing: packet.bytes), request.messageClass == .request else { return }
    var response = STUNMessage(type: .init(.binding, .successResponse), transactionID: request.transactionID)
    response.append(.xorMappedAddress, address: packet.from, xor: true)
    sequence += 1
    inFlight.append(Packet(deliverAt: now + latency, sequence: sequence, from: packet.to, to: packet.from, bytes: response.encoded(fingerprint: true)))
  }

  /// Which host a packet reaches, through its NAT's filter if it has one.
  private func deliveredInside(_ packet: Packet) -> Int? {
    hosts.indices.first { index in
      if hosts[index].address == packet.to && hosts[index].nat == nil { return true }
      return hosts[index].nat?.inbound(to: packet.to, from: packet.from) == hosts[index].address
    }
  }

  private func isPrivatePeer(_ source: TransportAddress, of index: Int) -> Bool {
    hosts.indices.contains { $0 != index && hosts[$0].address == source && hosts[$0].nat?.publicIP == hosts[index].nat?.publicIP }
  }
}

extension TransportAddress {
  public init(_ text: String) { self.init(parsing: text)! }
}

public import Logging
public import NIOCore
internal import NIOPosix
internal import Synchronization
public import WarrenICE
internal import WarrenICEEndpoint
internal import WarrenSTUN
internal import WarrenTURN
public import WarrenPrimitives

/// The thin SwiftNIO driver of an ``ICEAgent``: one UDP socket per local host candidate, and a
/// timer that fires at the agent's `pollTimeout`. Every input (datagram, candidate, credentials,
/// timer) goes into the agent under one lock; what comes out is written to the sockets and
/// yielded on ``events``.
public final class ICEDriver: Sendable {
  struct State {
    /// The agent and its TURN allocations (``ICEEndpoint``): everything but the sockets.
    var endpoint: ICEEndpoint
    var channels: [TransportAddress: any Channel] = [:]
    /// The TCP or TLS connection of each allocation made over one, by server (ICEDriver+Relay.swift).
    var relayStreams: [TransportAddress: any Channel] = [:]
    /// Socket addresses of the remote ends written to, so that the data path converts none.
    var destinations: [TransportAddress: SocketAddress] = [:]
    /// Sockets written to by ``send(_:)-(ByteBuffer)`` and not yet flushed.
    var unflushed: [ObjectIdentifier: any Channel] = [:]
    /// GSO senders of the host candidates' sockets, and the sockets whose route the kernel
    /// refused a train on (one datagram per send there from then on).
    var senders: [TransportAddress: GSOSender] = [:]
    var gsoRefused: Set<TransportAddress> = []
    /// Application datagrams for the selected pair since the last flush, as one GSO train.
    var held: HeldTrain?
    var timer: DriverTimer?
    var timerDeadline: ContinuousClock.Instant?
    var closed = false

    /// The socket address for `address`, converted once (bytes, not text).
    mutating func destination(_ address: TransportAddress) -> SocketAddress? {
      if let known = destinations[address] { return known }
      guard let converted = try? SocketAddress(packedIPAddress: ByteBuffer(bytes: address.ip.bytes), port: Int(address.port)) else {
        return nil
      }
      if destinations.count >= 256 { destinations.removeAll(keepingCapacity: true) }
      destinations[address] = converted
      return converted
    }
  }

  /// A datagram to send from a socket (through its own descriptor where Warren has one), or
  /// bytes for a TURN server's TCP or TLS connection.
  enum Write {
    case datagram(Outbound, [UInt8])
    case stream(any Channel, [UInt8])
  }

  /// Where a datagram leaves from and goes to.
  struct Outbound {
    let channel: any Channel
    let sender: GSOSender?
    let remote: TransportAddress
    let destination: SocketAddress
  }

  /// Everything the agent reports: state changes, selected pairs, role changes, received data.
  public let events: AsyncStream<ICEEvent>
  private let continuation: AsyncStream<ICEEvent>.Continuation
  let state: Locked<State>
  /// Binding requests to STUN servers waiting for their answer (server-reflexive gathering).
  let pendingBindings = PendingAnswers<STUNTransactionID, TransportAddress?>()
  /// Probes waiting for their answer, by token, and the last token given out.
  private let pendingProbes = PendingAnswers<UInt64, ProbeResult>()
  private let lastProbeToken = Atomic<UInt64>(0)
  /// Allocations waiting for their relayed candidate (nil: refused or given up), by TURN server.
  let pendingRelays = PendingAnswers<TransportAddress, Candidate?>()
  let eventLoop: any EventLoop
  /// Every timer of the agent and the TURN clients runs on it, and every input is stamped with it.
  let clock: any DriverClock
  let logger: Logger
  let onData: (@Sendable (ByteBuffer) -> Void)?
  /// Called when a batch of `onData` deliveries ends (a socket's read burst, relayed data).
  let onDataBatchEnd: (@Sendable () -> Void)?

  /// - Parameters:
  ///   - eventLoop: runs the sockets and the timer (one of the shared group's when `nil`). A
  ///     caller that also owns sockets for the same traffic (a proxy) saves a thread hop per
  ///     datagram by passing the loop those use.
  ///   - clock: the agent's time (a manual clock in tests).
  ///   - onData: receives application datagrams directly, in order, on the event loop, instead of
  ///     as `.data` events.
  ///   - onDataBatchEnd: called after each batch of `onData` calls: the receiver may hold its
  ///     writes until then and send them with one system call.
  public init(
    agent: ICEAgent, logger: Logger, eventLoop: (any EventLoop)? = nil, clock: any DriverClock = ContinuousClock(),
    onData: (@Sendable (ByteBuffer) -> Void)? = nil, onDataBatchEnd: (@Sendable () -> Void)? = nil
  ) {
    state = Locked(State(endpoint: ICEEndpoint(agent: agent, deliversDataDirectly: onData != nil)))
    self.eventLoop = eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
    self.clock = clock
    self.logger = logger
    self.onData = onData
    self.onDataBatchEnd = onDataBatchEnd
    (events, continuation) = AsyncStream.makeStream(of: ICEEvent.self, bufferingPolicy: .bufferingNewest(4096))
  }

  /// Binds a UDP socket on each address (port 0: any free port, or the first free one of
  /// `ports`), and adds each as a host candidate.
  public func bindHostCandidates(_ addresses: [TransportAddress.IP], ports: ClosedRange<Int>? = nil) async throws -> [Candidate] {
    try await bindHostCandidates(addresses, ranked: addresses, ports: ports)
  }

  /// Binds a UDP socket on each of `addresses` and adds each as a host candidate, with the local
  /// preference of its place in `ranked` (all of the host's addresses, most preferred first):
  /// an address that appears later ranks among the others as if it had been there at the start.
  public func bindHostCandidates(
    _ addresses: [TransportAddress.IP], ranked: [TransportAddress.IP], ports: ClosedRange<Int>? = nil
  ) async throws -> [Candidate] {
    var candidates: [Candidate] = []
    for ip in addresses {
      let index = ranked.firstIndex(of: ip) ?? ranked.count
      let (channel, sender) = try await bind(ip, ports: ports)
      guard let local = channel.localAddress, let port = local.port else { continue }
      let address = TransportAddress(ip: ip, port: UInt16(port))
      // Local preference: earlier addresses are preferred (RFC 8445 §5.1.2.2).
      let candidate = Candidate(type: .host, address: address, localPreference: UInt32(65535 - min(index, 65535)))
      let kept = state.withLock { state in
        guard !state.closed else { return false }
        state.channels[address] = channel
        state.senders[address] = sender
        return true
      }
      // Closed while binding (the agent was replaced): nobody else would close this socket.
      guard kept else {
        sender?.close()
        try? await channel.close()
        return candidates
      }
      update { state, now in state.endpoint.withAgent(now: now) { $0.addLocalCandidate(candidate, now: now) } }
      candidates.append(candidate)
    }
    return candidates
  }

  /// Adds a remote candidate, and permits its address on every TURN allocation, so that the
  /// peer's checks through our relays get through before our own checks reach that pair.
  public func addRemoteCandidate(_ candidate: Candidate) {
    update { state, now in state.endpoint.addRemoteCandidate(candidate, now: now) }
  }

  public func addLocalCandidate(_ candidate: Candidate) {
    update { state, now in state.endpoint.withAgent(now: now) { $0.addLocalCandidate(candidate, now: now) } }
  }

  public func setRemoteCredentials(_ credentials: ICECredentials) {
    update { state, now in state.endpoint.withAgent(now: now) { $0.setRemoteCredentials(credentials, now: now) } }
  }

  /// This host's addresses `ips` are gone (the network changed): the sockets bound to them close,
  /// and every candidate on them — host, server-reflexive, and the relayed addresses of TURN
  /// allocations made from them — leaves the agent, which replaces a selected pair among them at
  /// once (``ICEAgent/removeLocalCandidates(onBases:now:)``). Returns the TURN servers whose
  /// allocation went with them, to allocate again from an address that is still there.
  @discardableResult
  public func removeHostAddresses(_ ips: Set<TransportAddress.IP>) async -> [TransportAddress] {
    var closing: [any Channel] = []
    var senders: [GSOSender] = []
    var lostRelays: [TransportAddress] = []
    update { state, now in
      let bases = Array(state.channels.keys)
      let streamsFrom = Set(state.relayStreams.filter { $0.value.localAddress.flatMap { TransportAddress($0) }.map { ips.contains($0.ip) } ?? false }.keys)
      lostRelays = state.endpoint.removeHostAddresses(ips, bases: bases, streamsFrom: streamsFrom, now: now)
      for server in lostRelays {
        pendingRelays.answer(server, with: nil)
        if let stream = state.relayStreams.removeValue(forKey: server) { closing.append(stream) }
      }
      for base in bases where ips.contains(base.ip) {
        if let channel = state.channels.removeValue(forKey: base) { closing.append(channel) }
        if let sender = state.senders.removeValue(forKey: base) { senders.append(sender) }
        state.gsoRefused.remove(base)
        if state.held?.local == base { state.held = nil }
      }
    }
    for sender in senders { sender.close() }
    for channel in closing { try? await channel.close() }
    return lostRelays
  }

  /// A host socket closed under the driver (not by ``close()`` or a vanished address): said, so
  /// that a candidate that died this way does not go unnoticed.
  func socketClosed(_ channel: any Channel) {
    let base = state.withLock { state in state.closed ? nil : state.channels.first { $0.value === channel }?.key }
    if let base { logger.warning("a host socket closed under the agent", metadata: ["local": "\(base)"]) }
  }

  /// Whether a TURN allocation on `server` exists or is being made.
  public func hasRelay(on server: TransportAddress) -> Bool {
    state.withLock { $0.endpoint.hasAllocation(on: server) }
  }

  /// The host addresses that have sockets (host candidates).
  public var hostAddresses: Set<TransportAddress.IP> {
    state.withLock { Set($0.channels.keys.map(\.ip)) }
  }

  /// The network changed in a way that may have broken the selected pair without taking its
  /// address (a default route moved): the agent checks it fast for a while.
  public func networkChanged() {
    update { state, now in state.endpoint.withAgent(now: now) { $0.networkChanged(now: now) } }
  }

  /// Whether the peer follows renominations, when known before any was tried
  /// (``ICEAgent/peerFollowsRenomination``).
  public func setPeerFollowsRenomination(_ follows: Bool) {
    update { state, now in state.endpoint.withAgent(now: now) { $0.peerFollowsRenomination = follows } }
  }

  /// Traffic to the peer that does not pass through the driver (WireGuard on the kernel data
  /// path): the agent checks the selected pair fast while it flows (``ICEAgent/noteTraffic(now:)``).
  public func noteTraffic() {
    update { state, now in state.endpoint.withAgent(now: now) { $0.noteTraffic(now: now) } }
  }

  /// What became of one ``probe(timeout:)``.
  public enum ProbeResult: Sendable, Equatable {
    /// Answered over `pair` after `roundTripTime`.
    case answered(roundTripTime: Duration, pair: CandidatePair)
    /// No answer within the timeout.
    case lost
    /// No pair is selected, or the driver is closed.
    case noPath
  }

  /// Sends one probe over the selected pair (``ICEAgent/probe(_:timeout:now:)``) and waits for
  /// its answer or `timeout`.
  public func probe(timeout: Duration) async -> ProbeResult {
    let token = lastProbeToken.add(1, ordering: .relaxed).newValue
    return await pendingProbes.wait(for: token, busy: .noPath) {
      var sent = false
      update { state, now in sent = state.endpoint.withAgent(now: now) { $0.probe(token, timeout: timeout, now: now) } }
      if !sent { pendingProbes.answer(token, with: .noPath) }
    }
  }

  /// A snapshot of the agent: state, role, selected pair, checklist and statistics.
  public var agent: ICEAgent { state.withLock { $0.endpoint.agent } }

  /// Whether ``close()`` was called: gathering on it stops.
  public var isClosed: Bool { state.withLock { $0.closed } }

  /// Closes the sockets and ends ``events``.
  public func close() async {
    // Release TURN allocations first (a Refresh with lifetime 0), while the sockets are open.
    update { state, now in state.endpoint.close(now: now) }
    let channels: [any Channel] = state.withLock { state in
      state.closed = true
      state.timer?.cancel()
      defer { state.relayStreams = [:] }
      return Array(state.channels.values) + Array(state.relayStreams.values)
    }
    for channel in channels { try? await channel.close() }
    for sender in state.withLock({ $0.senders.values }) { sender.close() }
    // Gathering and probes wait for nothing more.
    pendingRelays.answerAll(with: nil)
    pendingBindings.answerAll(with: nil)
    pendingProbes.answerAll(with: .noPath)
    continuation.finish()
  }

  // MARK: - Plumbing

  /// Sends one datagram, through Warren's own descriptor of the socket where there is one: a
  /// routing error (no route yet after a network change, the address gone, a firewall's reject)
  /// loses that datagram, as UDP does; NIO treats every such error as fatal and closes the socket,
  /// which would leave a host candidate dead after a moment without a route. Only a full send
  /// buffer goes through NIO, which waits for room.
  func send(_ datagram: ByteBuffer, _ outbound: Outbound, flush: Bool = true) {
    if let sender = outbound.sender {
      switch sender.send(datagram, segmentSize: max(datagram.readableBytes, 1), to: outbound.remote) {
      case .sent:
        return
      case .refused(let error):
        logger.trace("a datagram could not be sent", metadata: ["remote": "\(outbound.remote)", "error": "\(GSOSender.Outcome.refused(errno: error))"])
        return
      case .wouldBlock:
        break
      }
    }
    let envelope = AddressedEnvelope(remoteAddress: outbound.destination, data: datagram)
    if flush { outbound.channel.writeAndFlush(envelope, promise: nil) } else { outbound.channel.write(envelope, promise: nil) }
  }

  /// Binds a socket (Warren's own, handed to NIO, so that a ``GSOSender`` can use it too).
  private func bind(_ ip: TransportAddress.IP, ports: ClosedRange<Int>?) async throws -> (any Channel, GSOSender?) {
    let bootstrap = DatagramSocketTuning.configure(DatagramBootstrap(group: eventLoop))
      .channelInitializer { [self] channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(DatagramHandler(driver: self))
        }
      }
    var lastError: (any Error)?
    for port in ports ?? 0...0 {
      let descriptor: CInt
      do { descriptor = try BoundUDPSocket.bind(TransportAddress(ip: ip, port: UInt16(port))) } catch {
        lastError = error
        continue
      }
      // NIO owns the descriptor from here on, and closes it if it cannot register it.
      let channel = try await tuned(bootstrap.withBoundSocket(descriptor).get())
      let sender = System.supportsUDPSegmentationOffload ? GSOSender(duplicating: descriptor) : nil
      logger.trace("host socket bound", metadata: ["local": "\(channel.localAddress.map { "\($0)" } ?? "-")", "descriptor": "\(descriptor)", "sender": "\(sender?.descriptorNumber ?? -1)"])
      return (channel, sender)
    }
    throw lastError ?? ChannelError.ioOnClosedChannel
  }

  private func tuned(_ channel: any Channel) async -> any Channel {
    await DatagramSocketTuning.enlargeBuffers(channel)
    return channel
  }

  private func timerFired() {
    update { state, now in
      state.timerDeadline = nil
      state.endpoint.handleTimeout(now: now)
    }
  }

  /// Applies `change` to the agent, then writes its transmits, yields its events and re-arms the
  /// timer for its next deadline.
  func update(_ change: (inout State, ContinuousClock.Instant) -> Void) {
    let now = clock.now
    let (writes, events, relayed) = state.withLock { state in
      guard !state.closed else { return ([Write](), [ICEEvent](), RelayOutput()) }
      change(&state, now)
      var writes: [Write] = []
      var events: [ICEEvent] = []
      var relayed = RelayOutput()
      while let outbound = state.endpoint.pollOutbound() {
        switch outbound {
        case .datagram(let from, let to, let bytes):
          if let channel = state.channels[from], let destination = state.destination(to) {
            writes.append(.datagram(Outbound(channel: channel, sender: state.senders[from], remote: to, destination: destination), bytes))
          }
        case .stream(let server, let bytes):
          if let channel = state.relayStreams[server] { writes.append(.stream(channel, bytes)) }
        }
      }
      while let event = state.endpoint.pollEvent() {
        switch event {
        case .agent(let event):
          events.append(event)
        case .allocated(let server, let candidate):
          pendingRelays.answer(server, with: candidate)
        case .allocationFailed(let server, let reason):
          pendingRelays.answer(server, with: nil)
          relayed.notes.append((.warning, "TURN: \(reason); no relay candidate from this server", server))
        case .relayNote(let server, let note):
          relayed.notes.append((.debug, note, server))
        case .relayedData(let bytes):
          relayed.data.append(bytes)
        }
      }
      if let deadline = state.endpoint.pollTimeout(), deadline != state.timerDeadline {
        state.timer?.cancel()
        state.timerDeadline = deadline
        state.timer = clock.schedule(at: deadline, on: eventLoop) { [weak self] in self?.timerFired() }
      }
      return (writes, events, relayed)
    }
    report(relayed)
    for write in writes {
      switch write {
      case .datagram(let outbound, let bytes):
        send(ByteBuffer(bytes: bytes), outbound)
      case .stream(let channel, let bytes):
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
      }
    }
    for event in events {
      switch event {
      case .probeAnswered(let token, let roundTripTime, let id):
        let pair = state.withLock { $0.endpoint.agent.pair(id) }
        pendingProbes.answer(token, with: pair.map { .answered(roundTripTime: roundTripTime, pair: $0) } ?? .lost)
        continue
      case .probeLost(let token):
        pendingProbes.answer(token, with: .lost)
        continue
      case .stateChanged(let newState):
        logger.debug("ICE state changed", metadata: ["state": "\(newState)"])
        // The agent drops its transactions when it fails or closes: nobody answers those probes.
        if newState == .failed || newState == .closed {
          pendingProbes.answerWaiting(with: .noPath)
        }
      default:
        break
      }
      continuation.yield(event)
    }
  }
}

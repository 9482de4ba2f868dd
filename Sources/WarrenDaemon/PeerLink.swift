public import Logging
internal import NIOPosix
public import WarrenCrypto
public import WarrenICE
public import WarrenICENIO
public import WarrenSession
public import WarrenSignaling
internal import WarrenWire
public import WarrenPrimitives

/// Everything Warren runs for one remote peer: the signaling subscription, the session
/// (``PeerLinkStateMachine``, around ``PeerSession``), the current ICE agent with its driver, and
/// the UDP proxy. One loop owns the state: it takes the mail (the peer's messages, local
/// candidates, the agent's events, the session's timeout) in order and carries out the actions
/// one at a time. Nothing slow sits in that line: publishing has a queue of its own (in order, so
/// a candidate never overtakes its credentials) and gathering runs beside it, so a signaling
/// server or a STUN or TURN server that does not answer delays neither the peer's candidates nor
/// our checks.
public final class PeerLink: Sendable {
  /// The relay grace period (the behaviour before relay first) for a peer that did not follow a
  /// renomination: a direct pair that works within it is nominated first, so nothing needs
  /// renominating.
  static let relayDelayWithoutRenomination: Duration = .seconds(1)

  public struct Options: Sendable {
    public var name: String
    public var keys: KeyPair
    /// A key the peer also listens on (cunicu after a key change: ``PeerDiscovery/LearnedPeer/previousKey``);
    /// every message goes to it too.
    public var formerKey: Key?
    /// How the agent's local candidates are gathered (host addresses, STUN and TURN servers).
    public var gatherer: Gatherer
    public var ice = ICEConfiguration()
    public var session = SessionConfiguration()
    /// Where the application sends datagrams for this peer (port 0 picks one).
    public var listen: TransportAddress
    /// Where datagrams from this peer are delivered.
    public var forward: TransportAddress
    /// Called when the agent noticed that this host did not run for a while (suspended,
    /// stopped): the daemon makes its signaling connections anew.
    public var resumed: @Sendable (Duration) -> Void = { _ in }
    public init(name: String, keys: KeyPair, gatherer: Gatherer, listen: TransportAddress, forward: TransportAddress) {
      self.name = name
      self.keys = keys
      self.gatherer = gatherer
      self.listen = listen
      self.forward = forward
    }
  }

  /// A state transition, for logs and `warren demo`.
  public struct Transition: Sendable {
    public let at: ContinuousClock.Instant
    public let from: SessionState
    public let to: SessionState
    public let reason: String
  }

  /// What `warren status` shows for a peer.
  public struct Status: Sendable {
    public var state: SessionState
    public var role: ICERole
    public var selectedPair: CandidatePair?
    /// The selected pair's last measured round-trip time (consent checks and probes).
    public var roundTripTime: Duration?
    public var restarts: Int
    /// Restarts by cause (the peer's new credentials, a failed agent, …).
    public var restartCauses: [RestartCause: Int]
    /// Messages from the peer dropped before they reached the session, by reason.
    public var droppedMessages: [DroppedMessageReason: Int]
    public var since: ContinuousClock.Instant?
    /// Times an agent moved its traffic from one selected pair to another (a relay replaced by a
    /// direct path, or a renomination by the peer), and when it last did.
    public var pathSwitches: Int
    public var lastSwitch: ContinuousClock.Instant?
    public var proxy: UDPProxy.Statistics
    /// When the last signaling message from the peer arrived (whatever became of it).
    public var lastSignal: ContinuousClock.Instant?
  }

  private struct State {
    var machine: PeerLinkStateMachine
    /// The current agent's driver: the proxy hands it datagrams, `status` and `probe` read it.
    var driver: ICEDriver?
    var proxy: UDPProxy?
  }

  /// What reaches the link from outside its loop: inputs of the state machine, and a change of
  /// the host's network (its gathering runs beside the loop).
  private enum Mail {
    case input(PeerLinkStateMachine.Input)
    case networkChanged(ICEDriver, added: [TransportAddress.IP], removed: Set<TransportAddress.IP>)
  }

  public let options: Options
  /// Every transition of this peer's session, as it happens.
  public let transitions: AsyncStream<Transition>
  private let transitionSink: AsyncStream<Transition>.Continuation
  /// Every pair the current agent selects, as it does (a WireGuard peer's data path follows it).
  public let selections: AsyncStream<CandidatePair>
  private let selectionSink: AsyncStream<CandidatePair>.Continuation
  private let backend: any SignalingBackend
  private let logger: Logger
  /// Written only by `run`'s loop, which takes the mail in order and carries out the state
  /// machine's actions one after the other; read by the proxy's data path and `status`.
  private let state: Locked<State>
  private let mail: AsyncStream<Mail>
  private let mailSink: AsyncStream<Mail>.Continuation
  /// Messages to the peer, published one after the other beside the loop, so that a slow
  /// signaling server holds up neither the loop nor the order (a candidate never overtakes its
  /// credentials).
  private let publications: AsyncStream<Cunicu_Signaling_Message>
  private let publicationSink: AsyncStream<Cunicu_Signaling_Message>.Continuation
  private let clock: any DriverClock
  /// Wakes the session when its deadline passes; nothing runs while it has none.
  private let timer: DeadlineTimer
  /// The proxy's socket and every agent's sockets share this loop: a datagram crosses from one to
  /// the other without a thread hop.
  private let eventLoop = MultiThreadedEventLoopGroup.singleton.next()

  /// - Parameter clock: the session's and the agents' timers run on it (a manual clock in tests).
  public init(options: Options, backend: any SignalingBackend, logger: Logger, clock: any DriverClock = ContinuousClock()) {
    self.options = options
    self.clock = clock
    timer = DeadlineTimer(clock: clock)
    self.backend = backend
    var logger = logger
    logger[metadataKey: "peer"] = "\(options.name)"
    logger[metadataKey: "key"] = "\(options.keys.theirs)"
    self.logger = logger
    let role: ICERole = options.keys.weAreControlling ? .controlling : .controlled
    let session = PeerSession(role: role, configuration: options.session, seed: UInt64.random(in: 0...UInt64.max))
    state = Locked(State(machine: PeerLinkStateMachine(session: session)))
    // Bounded: a daemon without a reader for a peer's transitions must not accumulate them.
    (transitions, transitionSink) = AsyncStream.makeStream(of: Transition.self, bufferingPolicy: .bufferingNewest(256))
    (selections, selectionSink) = AsyncStream.makeStream(of: CandidatePair.self, bufferingPolicy: .bufferingNewest(16))
    (mail, mailSink) = AsyncStream.makeStream(of: Mail.self)
    (publications, publicationSink) = AsyncStream.makeStream(of: Cunicu_Signaling_Message.self)
  }

  /// The proxy's listen address, once running.
  public var listenAddress: TransportAddress? { state.withLock { $0.proxy?.listen } }

  /// Whether the peer is a Warren (its messages carry field 100, `Warren_Freshness`), which starts
  /// WireGuard's handshake itself when it controls; cunicu does not (``HandshakeStarter``).
  var peerIsWarren: Bool { state.withLock { $0.machine.session.peerSendsFreshness } }

  public var status: Status {
    let (machine, driver, proxy) = state.withLock { ($0.machine, $0.driver, $0.proxy) }
    let snapshot = machine.session
    // The driver's agent holds the pair's current statistics.
    let agent = driver?.agent
    let selected = agent?.selectedPair.flatMap { agent?.pair($0) }
    return Status(
      state: snapshot.state, role: snapshot.role, selectedPair: selected,
      roundTripTime: selected?.statistics.currentRoundTripTime, restarts: snapshot.restarts,
      restartCauses: snapshot.restartCounts, droppedMessages: snapshot.droppedCounts, since: snapshot.stateSince,
      pathSwitches: machine.pathSwitches, lastSwitch: machine.lastSwitch, proxy: proxy?.statistics ?? UDPProxy.Statistics(),
      lastSignal: machine.lastSignal)
  }

  /// Sends one probe to the peer over the selected pair (a STUN Binding request, which the peer's
  /// ICE agent answers like any consent check) and waits up to `timeout` for the answer.
  public func probe(timeout: Duration) async -> ICEDriver.ProbeResult {
    guard let driver = state.withLock({ $0.driver }) else { return .noPath }
    return await driver.probe(timeout: timeout)
  }

  /// Traffic to the peer that bypasses the proxy (WireGuard on the kernel data path): the agent
  /// checks the selected pair fast while it flows.
  public func noteTraffic() {
    state.withLock { $0.driver }?.noteTraffic()
  }

  /// The host's network changed (docs/ice.md, "Path survival"): the current agent drops what was
  /// on the `removed` addresses and gathers on the `added` ones, and the new candidates are
  /// trickled to the peer; with neither (a route changed), the selected pair is checked fast for
  /// a while. A later agent gathers on the addresses of its time anyway.
  public func networkChanged(added: [TransportAddress.IP], removed: Set<TransportAddress.IP>) {
    guard let driver = state.withLock({ $0.driver }) else { return }
    if added.isEmpty && removed.isEmpty {
      driver.networkChanged()
    } else {
      mailSink.yield(.networkChanged(driver, added: added, removed: removed))
    }
  }

  /// Hands the selected pair on again (``selections``): the routing changed, and the data path
  /// chosen for the pair may no longer fit (docs/wireguard.md, "Data paths").
  public func reselect() {
    guard let agent = state.withLock({ $0.driver })?.agent, let pair = agent.selectedPair.flatMap({ agent.pair($0) }) else { return }
    selectionSink.yield(pair)
  }

  /// Runs until cancelled.
  public func run() async throws {
    let subscription = try await backend.subscribe(options.keys)
    let proxy = try await UDPProxy(
      listen: options.listen, forward: options.forward, logger: logger, eventLoop: eventLoop,
      endOfBurst: { [weak self] in self?.state.withLock { $0.driver }?.flush() }
    ) { [weak self] buffer in
      self?.state.withLock { $0.driver }?.send(buffer) ?? false
    }
    state.withLock { $0.proxy = proxy }
    defer { subscription.cancel() }
    // First in the mail: the session starts before the peer's first message reaches it.
    mailSink.yield(.input(.start(unixNanoseconds: WallClock.unixNanoseconds)))
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        for await message in subscription { self.mailSink.yield(.input(.message(message))) }
      }
      group.addTask {
        for await message in self.publications { await self.publish(message) }
      }
      group.addTask {
        await self.timer.run(
          deadline: { self.state.withLock { $0.machine.session.pollTimeout() } },
          fire: { self.mailSink.yield(.input(.timeout)) })
      }
      // The loop: one piece of mail at a time, its actions carried out before the next. Only
      // gathering and following an agent's events run beside it, as tasks of their own.
      for await piece in mail {
        switch piece {
        case .input(let input):
          let now = clock.now
          let actions = state.withLock { $0.machine.handle(input, now: now) }
          timer.deadlineMoved()
          for action in actions { await perform(action, in: &group) }
        case .networkChanged(let driver, let added, let removed):
          group.addTask {
            await self.options.gatherer.follow(added: added, removed: removed, on: driver, logger: self.logger, found: self.found)
          }
        }
      }
    }
  }

  /// Stops the agent and the proxy (after `run` was cancelled).
  public func close() async {
    let (driver, proxy) = state.withLock { ($0.driver, $0.proxy) }
    await driver?.close()
    await proxy?.close()
    mailSink.finish()
    publicationSink.finish()
    transitionSink.finish()
    selectionSink.finish()
  }

  /// Where gathering hands each local candidate.
  private var found: @Sendable (Candidate) -> Void {
    { candidate in self.mailSink.yield(.input(.localCandidate(candidate))) }
  }

  // MARK: - Carrying out actions

  private func perform(_ action: PeerLinkStateMachine.Action, in group: inout ThrowingDiscardingTaskGroup<any Error>) async {
    switch action {
    case .session(let action): await perform(action, in: &group)
    case .selected(let pair, let switched):
      selectionSink.yield(pair)
      if switched {
        logger.notice("traffic moved to another path: selected pair \(pair)", metadata: ["path": "\(pair.path)"])
      } else {
        logger.info("selected pair \(pair)")
      }
    case .peerIgnoresRenomination(let kept):
      logger.notice(
        "the peer kept sending over its first pair after we nominated a better one (it does not follow renominations); its direction stays on \(kept), and its next sessions wait \(PeerLink.relayDelayWithoutRenomination) for a direct pair before a relay is nominated",
        metadata: ["path": "\(kept.path)"])
    }
  }

  private func perform(_ action: PeerSession.Action, in group: inout ThrowingDiscardingTaskGroup<any Error>) async {
    switch action {
    case .createAgent(let credentials, let role):
      let old = state.withLock { $0.driver }
      await old?.close()
      let (proxy, ignoresRenomination) = state.withLock { ($0.proxy, $0.machine.peerIgnoresRenomination) }
      var configuration = options.ice
      if ignoresRenomination && configuration.relayNominationDelay == .zero {
        configuration.relayNominationDelay = PeerLink.relayDelayWithoutRenomination
      }
      let driver = ICEDriver(
        agent: ICEAgent(role: role, localCredentials: credentials, configuration: configuration, seed: UInt64.random(in: 0...UInt64.max)),
        logger: logger, eventLoop: eventLoop, clock: clock, onData: { buffer in proxy?.deliver(buffer, flush: false) },
        onDataBatchEnd: { proxy?.flush() })
      let driverSerial = state.withLock { state in
        state.driver = driver
        return state.machine.agentCreated()
      }
      group.addTask { await self.follow(driver, driverSerial: driverSerial) }
    case .closeAgent:
      let driver = state.withLock { state in defer { state.driver = nil }; return state.driver }
      await driver?.close()
    case .send(let message):
      publicationSink.yield(message)
    case .setRemoteCredentials(let credentials):
      let (driver, follows) = state.withLock { ($0.driver, $0.machine.peerFollowsRenomination) }
      driver?.setPeerFollowsRenomination(follows)
      driver?.setRemoteCredentials(credentials)
    case .startGathering:
      guard let driver = state.withLock({ $0.driver }) else { return }
      group.addTask { await self.options.gatherer.gather(on: driver, logger: self.logger, found: self.found) }
    case .addRemoteCandidate(let candidate):
      logger.debug("remote candidate \(candidate)")
      state.withLock { $0.driver }?.addRemoteCandidate(candidate)
    case .transition(let from, let to, let reason):
      logger.info("\(from) -> \(to): \(reason)", metadata: ["from": "\(from)", "to": "\(to)"])
      transitionSink.yield(Transition(at: clock.now, from: from, to: to, reason: reason))
    case .dropped(.outsideClockWindow):
      // Not a copy we recognise: an old recording, or a peer whose clock is far from ours.
      logger.warning(
        "dropped a message from the peer sent more than \(options.session.replay.clockWindow) from our clock; if this repeats, check both hosts' clocks",
        metadata: ["reason": "\(DroppedMessageReason.outsideClockWindow)"])
    case .dropped(let reason):
      logger.debug("dropped a message from the peer", metadata: ["reason": "\(reason)"])
    }
  }

  private func publish(_ message: Cunicu_Signaling_Message) async {
    do {
      try await backend.publish(message, keys: options.keys)
      if let former = options.formerKey { try await backend.publish(message, keys: KeyPair(ours: options.keys.ours, theirs: former)) }
    } catch {
      logger.warning("publishing to the peer failed; the session's back-off will retry", metadata: ["error": "\(error)"])
    }
  }

  /// Follows one driver's events until it closes: those that concern the session or the link's
  /// record go to the loop (which ignores a replaced driver's), the others are logged here.
  private func follow(_ driver: ICEDriver, driverSerial: Int) async {
    for await event in driver.events {
      switch event {
      case .stateChanged, .selectedPairChanged, .renominationIgnored:
        mailSink.yield(.input(.agentEvent(event, driverSerial: driverSerial)))
      case .data:
        break  // Delivered to the proxy by the driver's onData.
      case .roleChanged(let role):
        logger.notice("ICE role changed by conflict resolution", metadata: ["role": "\(role)"])
      case .probeAnswered, .probeLost:
        break  // The driver hands these to the prober.
      case .pathLost(let pair):
        logger.notice("the selected pair stopped answering under traffic: \(pair)", metadata: ["path": "\(pair.path)"])
      case .resumed(let gap):
        logger.notice("this host did not run for \(gap) (suspended or stopped); checking the path, or starting over after a long gap")
        options.resumed(gap)
      case .standbyChanged(let pair):
        logger.debug("standby pair: \(pair.map { "\($0)" } ?? "none")")
      }
    }
  }
}

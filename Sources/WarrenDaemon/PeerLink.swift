public import Logging
internal import NIOPosix
internal import Synchronization
public import WarrenCrypto
public import WarrenICE
public import WarrenICENIO
public import WarrenSession
public import WarrenSignaling
internal import WarrenWire
public import WarrenPrimitives

/// Everything Warren runs for one remote peer: the signaling subscription, the ``PeerSession``
/// state machine, the current ICE agent with its driver, and the UDP proxy. The session decides;
/// this carries out its actions in order, one at a time. Nothing slow sits in that line:
/// publishing has a queue of its own (in order, so a candidate never overtakes its credentials)
/// and gathering runs beside it, so a signaling server or a STUN or TURN server that does not
/// answer delays neither the peer's candidates nor our checks.
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

  private enum Input {
    case start
    case message(OpenedEnvelope)
    case localCandidate(Candidate)
    case agentState(ICEConnectionState, driverSerial: Int)
    /// The session's deadline (``PeerSession/pollTimeout()``) has passed.
    case timeout
  }

  private struct State {
    var session: PeerSession
    var driver: ICEDriver?
    /// Counts the drivers made (one per agent), so that a replaced driver's late events are
    /// told apart: not the session's agent generation, which is the wire's.
    var driverSerial = 0
    /// Whether the current agent has selected a pair yet (its next selection is a switch).
    var selectedInAgent = false
    var pathSwitches = 0
    var lastSwitch: ContinuousClock.Instant?
    var proxy: UDPProxy?
    var lastSignal: ContinuousClock.Instant?
    /// The peer kept its first pair when our agent nominated another (it does not follow
    /// renominations): later agents wait for a direct pair before they nominate a relay.
    var peerIgnoresRenomination = false
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
  private let state: Mutex<State>
  private let work: AsyncStream<PeerSession.Action>
  private let workSink: AsyncStream<PeerSession.Action>.Continuation
  /// Messages to the peer, published one after the other.
  private let publications: AsyncStream<Cunicu_Signaling_Message>
  private let publicationSink: AsyncStream<Cunicu_Signaling_Message>.Continuation
  /// Gathering to do, each beside everything else: an agent's first, or after the host's
  /// network changed.
  private enum Gathering {
    case initial(ICEDriver)
    case change(ICEDriver, added: [TransportAddress.IP], removed: Set<TransportAddress.IP>)
  }
  private let gatherings: AsyncStream<Gathering>
  private let gatheringSink: AsyncStream<Gathering>.Continuation
  /// Each new agent's driver, for the task that follows its events.
  private let drivers: AsyncStream<(ICEDriver, driverSerial: Int)>
  private let driverSink: AsyncStream<(ICEDriver, driverSerial: Int)>.Continuation
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
    state = Mutex(State(session: PeerSession(role: role, configuration: options.session, seed: UInt64.random(in: 0...UInt64.max))))
    // Bounded: a daemon without a reader for a peer's transitions must not accumulate them.
    (transitions, transitionSink) = AsyncStream.makeStream(of: Transition.self, bufferingPolicy: .bufferingNewest(256))
    (selections, selectionSink) = AsyncStream.makeStream(of: CandidatePair.self, bufferingPolicy: .bufferingNewest(16))
    (work, workSink) = AsyncStream.makeStream(of: PeerSession.Action.self)
    (publications, publicationSink) = AsyncStream.makeStream(of: Cunicu_Signaling_Message.self)
    (gatherings, gatheringSink) = AsyncStream.makeStream(of: Gathering.self)
    (drivers, driverSink) = AsyncStream.makeStream(of: (ICEDriver, driverSerial: Int).self)
  }

  /// The proxy's listen address, once running.
  public var listenAddress: TransportAddress? { state.withLock { $0.proxy?.listen } }

  /// Whether the peer is a Warren (its messages carry field 100, `Warren_Freshness`), which starts
  /// WireGuard's handshake itself when it controls; cunicu does not (``HandshakeStarter``).
  var peerIsWarren: Bool { state.withLock { $0.session.peerSendsFreshness } }

  public var status: Status {
    let (snapshot, driver, proxy, switches, lastSwitch, lastSignal) = state.withLock {
      ($0.session, $0.driver, $0.proxy, $0.pathSwitches, $0.lastSwitch, $0.lastSignal)
    }
    // The driver's agent holds the pair's current statistics.
    let agent = driver?.agent
    let selected = agent?.selectedPair.flatMap { agent?.pair($0) }
    return Status(
      state: snapshot.state, role: snapshot.role, selectedPair: selected,
      roundTripTime: selected?.statistics.currentRoundTripTime, restarts: snapshot.restarts,
      restartCauses: snapshot.restartCounts, droppedMessages: snapshot.droppedCounts, since: snapshot.stateSince,
      pathSwitches: switches, lastSwitch: lastSwitch, proxy: proxy?.statistics ?? UDPProxy.Statistics(), lastSignal: lastSignal)
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
      gatheringSink.yield(.change(driver, added: added, removed: removed))
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
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        for await message in subscription { self.input(.message(message)) }
      }
      group.addTask {
        for await action in self.work { await self.perform(action) }
      }
      group.addTask {
        for await message in self.publications { await self.publish(message) }
      }
      group.addTask {
        await withDiscardingTaskGroup { gatherings in
          for await gathering in self.gatherings {
            let found: @Sendable (Candidate) -> Void = { candidate in self.input(.localCandidate(candidate)) }
            switch gathering {
            case .initial(let driver):
              gatherings.addTask { await self.options.gatherer.gather(on: driver, logger: self.logger, found: found) }
            case .change(let driver, let added, let removed):
              gatherings.addTask {
                await self.options.gatherer.follow(added: added, removed: removed, on: driver, logger: self.logger, found: found)
              }
            }
          }
        }
      }
      group.addTask {
        await self.timer.run(deadline: { self.state.withLock { $0.session.pollTimeout() } }, fire: { self.input(.timeout) })
      }
      group.addTask {
        await withDiscardingTaskGroup { followers in
          for await (driver, driverSerial) in self.drivers {
            followers.addTask { await self.follow(driver, driverSerial: driverSerial) }
          }
        }
      }
      input(.start)
    }
  }

  /// Stops the agent and the proxy (after `run` was cancelled).
  public func close() async {
    let (driver, proxy) = state.withLock { ($0.driver, $0.proxy) }
    await driver?.close()
    await proxy?.close()
    workSink.finish()
    publicationSink.finish()
    gatheringSink.finish()
    driverSink.finish()
    transitionSink.finish()
    selectionSink.finish()
  }

  // MARK: - Inputs to the session

  private func input(_ input: Input) {
    let now = clock.now
    // The actions are queued under the lock that produced them: inputs come from several tasks
    // (the subscription, the timer, the gatherers, `run` itself), and actions queued after the
    // lock was let go could overtake an earlier input's (a `.startGathering` ahead of the
    // `.createAgent` it needs is lost, and the session waits for candidates that never come).
    state.withLock { state in
      switch input {
      case .start: state.session.start(now: now, unixNanoseconds: WallClock.unixNanoseconds)
      case .message(let message):
        state.lastSignal = now
        state.session.receive(message.message, nonce: message.nonce, now: now)
      case .localCandidate(let candidate): state.session.localCandidate(candidate, now: now)
      case .agentState(let agentState, let driverSerial):
        if driverSerial == state.driverSerial { state.session.agentStateChanged(agentState, now: now) }
      case .timeout: state.session.handleTimeout(now: now)
      }
      while let action = state.session.pollAction() { workSink.yield(action) }
    }
    timer.deadlineMoved()
  }

  // MARK: - Carrying out actions

  private func perform(_ action: PeerSession.Action) async {
    switch action {
    case .createAgent(let credentials, let role):
      let old = state.withLock { $0.driver }
      await old?.close()
      let (proxy, ignoresRenomination) = state.withLock { ($0.proxy, $0.peerIgnoresRenomination) }
      var configuration = options.ice
      if ignoresRenomination && configuration.relayNominationDelay == .zero {
        configuration.relayNominationDelay = PeerLink.relayDelayWithoutRenomination
      }
      let driver = ICEDriver(
        agent: ICEAgent(role: role, localCredentials: credentials, configuration: configuration, seed: UInt64.random(in: 0...UInt64.max)),
        logger: logger, eventLoop: eventLoop, clock: clock, onData: { buffer in proxy?.deliver(buffer, flush: false) },
        onDataBatchEnd: { proxy?.flush() })
      let driverSerial = state.withLock { state in
        state.driverSerial += 1
        state.selectedInAgent = false
        state.driver = driver
        return state.driverSerial
      }
      driverSink.yield((driver, driverSerial))
    case .closeAgent:
      let driver = state.withLock { state in defer { state.driver = nil }; return state.driver }
      await driver?.close()
    case .send(let message):
      publicationSink.yield(message)
    case .setRemoteCredentials(let credentials):
      let (driver, follows) = state.withLock { ($0.driver, $0.session.peerSendsFreshness && !$0.peerIgnoresRenomination) }
      // Warren peers follow a renomination, so a dying path hands over to the standby; toward
      // others (cunicu's pion/ice switches only to a pair of higher priority) the agent fails at
      // once instead, and both sides restart without waiting for consent to run out.
      driver?.setPeerFollowsRenomination(follows)
      driver?.setRemoteCredentials(credentials)
    case .startGathering:
      guard let driver = state.withLock({ $0.driver }) else { return }
      gatheringSink.yield(.initial(driver))
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

  /// Forwards one driver's events until it closes; events of a replaced driver are ignored.
  private func follow(_ driver: ICEDriver, driverSerial: Int) async {
    for await event in driver.events {
      switch event {
      case .stateChanged(let agentState):
        input(.agentState(agentState, driverSerial: driverSerial))
      case .selectedPairChanged(let pair):
        let now = clock.now
        let selection: (current: Bool, switched: Bool) = state.withLock { state in
          guard state.driverSerial == driverSerial else { return (false, false) }
          defer { state.selectedInAgent = true }
          guard state.selectedInAgent else { return (true, false) }
          state.pathSwitches += 1
          state.lastSwitch = now
          return (true, true)
        }
        if selection.current { selectionSink.yield(pair) }
        if selection.switched {
          logger.notice("traffic moved to another path: selected pair \(pair)", metadata: ["path": "\(pair.path)"])
        } else if selection.current {
          logger.info("selected pair \(pair)")
        }
      case .data:
        break  // Delivered to the proxy by the driver's onData.
      case .roleChanged(let role):
        logger.notice("ICE role changed by conflict resolution", metadata: ["role": "\(role)"])
      case .renominationIgnored(let kept):
        let first = state.withLock { state in
          guard state.driverSerial == driverSerial else { return false }
          defer { state.peerIgnoresRenomination = true }
          return !state.peerIgnoresRenomination
        }
        if first {
          logger.notice(
            "the peer kept sending over its first pair after we nominated a better one (it does not follow renominations); its direction stays on \(kept), and its next sessions wait \(PeerLink.relayDelayWithoutRenomination) for a direct pair before a relay is nominated",
            metadata: ["path": "\(kept.path)"])
        }
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

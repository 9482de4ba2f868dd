internal import Logging
internal import NIOPosix
#if canImport(Glibc)
internal import Glibc
#endif
internal import WarrenCrypto
internal import WarrenDiscovery
internal import WarrenICENIO
internal import WarrenPrimitives
internal import WarrenSignaling
internal import WarrenWire
internal import WarrenWireGuard

/// Runs one WireGuard interface's peer discovery (docs/discovery.md): derives the community key,
/// subscribes to every sender with it, feeds the community's announcements to a ``PeerDiscovery``
/// and carries out its actions — announcements published, WireGuard peers added, updated and
/// removed — one at a time, in order. Sessions for the peers follow from the interface, as for
/// peers added by hand.
final class DiscoveryRunner: Sendable {
  /// What `warren status` shows of it.
  struct Snapshot: Sendable {
    let interface: String
    let community: Key?
    let learned: [PeerDiscovery.LearnedPeer]
    let refusals: [DiscoveryRefusal.Reason: Int]
    let heardFromCommunity: Bool
    let problem: String?
  }

  private enum Input {
    /// The interface's private key as the owner read it: the first starts discovery, a
    /// different one later is a key change (UPDATE).
    case interfaceKey(PrivateKey)
    case announcement(Cunicu_Signaling_Message, sender: Key)
    case timeout
  }

  private struct State {
    var discovery: PeerDiscovery?
    var ours: PrivateKey?
    var community: PrivateKey?
    var problem: String?
    /// ``leave()`` began: nothing is announced any more (the REMOVE must be the last word).
    var leaving = false
  }

  let interface: String
  let settings: DiscoveryConfiguration
  /// `wireguard.addresses_from_key`: the interface's addresses derived from its key are announced.
  let addressesFromKey: [IPPrefix]
  private let backend: any SignalingBackend
  private let logger: Logger
  private let buildInfo: Cunicu_BuildInfo
  private let control: any WireGuardControl
  /// The owner's: the interface's latest reading, and what to call after a WireGuard peer was
  /// added or removed, so that sessions follow at once.
  private let hooks = Locked<Hooks?>(nil)

  struct Hooks: Sendable {
    let device: @Sendable () -> WireGuardDevice?
    let peersChanged: @Sendable () async -> Void
  }
  private let state = Locked(State())
  private let clock: any DriverClock
  private let timer: DeadlineTimer
  /// The interface's key at each reading of the owner (``interfaceRead(key:)``).
  private let keys: AsyncStream<PrivateKey>
  private let keySink: AsyncStream<PrivateKey>.Continuation
  private let work: AsyncStream<PeerDiscovery.Action>
  private let workSink: AsyncStream<PeerDiscovery.Action>.Continuation
  /// Finishes when the actions' task has performed its last action.
  private let workDone: AsyncStream<Never>
  private let workDoneSink: AsyncStream<Never>.Continuation

  init(
    interface: String, settings: DiscoveryConfiguration, addressesFromKey: [IPPrefix] = [], backend: any SignalingBackend,
    control: any WireGuardControl, buildInfo: Cunicu_BuildInfo, logger: Logger, clock: any DriverClock = ContinuousClock()
  ) {
    self.clock = clock
    timer = DeadlineTimer(clock: clock)
    self.interface = interface
    self.settings = settings
    self.addressesFromKey = addressesFromKey
    self.backend = backend
    self.control = control
    self.buildInfo = buildInfo
    var logger = logger
    logger[metadataKey: "interface"] = "\(interface)"
    self.logger = logger
    (work, workSink) = AsyncStream.makeStream()
    (workDone, workDoneSink) = AsyncStream.makeStream()
    (keys, keySink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
  }

  /// Joins the runner to its owner (before ``run()``).
  func attach(_ hooks: Hooks) {
    self.hooks.withLock { $0 = hooks }
  }

  private func device() -> WireGuardDevice? { hooks.withLock { $0 }?.device() }

  /// The key a learned member signals on besides its own (``PeerDiscovery/LearnedPeer/previousKey``).
  func previousKey(of key: Key) -> Key? {
    state.withLock { $0.discovery?.learned[key]?.previousKey }
  }

  /// The owner read the interface and found this private key (it reads it every poll interval):
  /// discovery starts with the first, and a different one later announces UPDATE.
  func interfaceRead(key: PrivateKey) {
    keySink.yield(key)
  }

  var snapshot: Snapshot {
    state.withLock { state in
      Snapshot(
        interface: interface, community: state.community?.publicKey,
        learned: state.discovery.map { $0.learned.values.sorted { $0.key < $1.key } } ?? [],
        refusals: state.discovery?.refusalCounts ?? [:], heardFromCommunity: state.discovery?.heardFromCommunity ?? false,
        problem: state.problem)
    }
  }

  /// Runs until cancelled; a community key that cannot be derived stops discovery (and says why),
  /// not the daemon.
  func run() async throws {
    let community: PrivateKey
    // While the key is derived, the backend connects and learns what the subscription needs.
    async let prepared: Void = backend.prepare()
    do {
      // 64 MiB of Argon2id: on NIO's blocking pool, off the event loops and the cooperative pool.
      community = try await NIOThreadPool.singleton.runIfActive { [settings] in try CommunityKey.derive(passphrase: settings.passphrase) }
      await prepared
    } catch {
      state.withLock { $0.problem = "cannot derive the community key: \(error)" }
      logger.error("peer discovery off: cannot derive the community key", metadata: ["error": "\(error)"])
      return
    }
    state.withLock { $0.community = community }
    let subscription = try await backend.subscribeAll(community)
    defer { subscription.cancel() }
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        for await message in subscription where message.message.hasPeer {
          self.input(.announcement(message.message, sender: message.sender))
        }
      }
      group.addTask {
        for await action in self.work { await self.perform(action) }
        self.workDoneSink.finish()
      }
      group.addTask {
        await self.timer.run(deadline: { self.state.withLock { $0.leaving ? nil : $0.discovery?.pollTimeout() } }, fire: { self.input(.timeout) })
      }
      group.addTask {
        for await key in self.keys { self.input(.interfaceKey(key)) }
      }
    }
  }

  /// Announces REMOVE (a clean leave) and removes the learned peers from the interface, so that a
  /// later start learns them again rather than taking them for peers configured by hand.
  func leave() async {
    let (leaving, learned, ours, community) = state.withLock { state in
      state.leaving = true
      return (state.discovery?.leaving(), state.discovery?.learned.keys.sorted() ?? [], state.ours, state.community)
    }
    workSink.finish()
    keySink.finish()
    timer.deadlineMoved()  // no deadline any more: the timer sleeps
    guard let leaving, let ours, let community else { return }
    // An announcement being published right now (an answer to a newcomer, a re-announcement)
    // must land before the REMOVE: after it, the others would learn this node again and keep it.
    await withTaskGroup(of: Void.self) { group in
      group.addTask { for await _ in self.workDone {} }
      group.addTask { [clock] in try? await clock.sleep(until: clock.now + .seconds(1), tolerance: nil) }
      await group.next()
      group.cancelAll()
    }
    // The REMOVE is said once and never repeated later, so a failed publish is tried again at
    // once, twice (the daemon bounds leaving as a whole).
    for retry in 0..<3 {
      if retry > 0 { try? await clock.sleep(until: clock.now + .milliseconds(100 * retry), tolerance: nil) }
      if await publish(leaving, ours: ours, community: community.publicKey) { break }
    }
    for key in learned {
      do { try await control.removePeer(key) } catch {
        logger.warning("could not remove a learned peer when leaving", metadata: ["peer": "\(key)", "error": "\(error)"])
      }
    }
  }

  /// - Parameter key: the interface's public key.
  private func discoverySettings(key: Key) -> PeerDiscovery.Settings {
    let allowed = settings.allowedIPs ?? {
      var addresses = InterfaceAddresses()
      addresses.include = [interface]
      // The addresses derived from the key, as cunicu announces its autocfg addresses: also when
      // the interface does not have them yet.
      let derived = addressesFromKey.map { IPPrefix(host: KeyDerivedAddress.address(of: key, in: $0).address) }
      let own = addresses.list().map { IPPrefix(host: $0.ip) }
      return derived + own.filter { !derived.contains($0) }
    }()
    var result = PeerDiscovery.Settings(name: settings.hostname ?? Self.hostname(), allowedIPs: allowed)
    result.hosts = settings.hosts
    result.accept = settings.accept
    result.deny = settings.deny
    result.maxPeers = settings.maxPeers
    result.peerExpiry = settings.peerExpiry
    return result
  }

  private static func hostname() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  // MARK: - Inputs

  private func input(_ input: Input) {
    let now = clock.now
    let configuredByHand = device().map { Set($0.peers.map(\.publicKey)) } ?? []
    let actions: [PeerDiscovery.Action] = state.withLock { state in
      guard !state.leaving else { return [] }
      if case .interfaceKey(let key) = input, state.discovery == nil {
        // The first reading: announce ourselves (announcements that came before are not ours to
        // judge yet; their senders repeat them).
        var discovery = PeerDiscovery(ourKey: key.publicKey, settings: discoverySettings(key: key.publicKey), seed: UInt64.random(in: 0...UInt64.max))
        logger.notice(
          "peer discovery: announcing to the community",
          metadata: [
            "community": "\(state.community.map { "\($0.publicKey)" } ?? "-")", "allowed_ips": "\(discovery.settings.allowedIPs)",
            "name": "\(discovery.settings.name)",
          ])
        discovery.start(now: now)
        state.ours = key
        state.discovery = discovery
      }
      guard var discovery = state.discovery else { return [] }
      defer { state.discovery = discovery }
      switch input {
      case .interfaceKey(let key):
        if key.publicKey != state.ours?.publicKey {
          state.ours = key
          discovery.keyChanged(to: key.publicKey, now: now)
        }
      case .announcement(let message, let sender):
        discovery.configuredByHand = configuredByHand.subtracting(discovery.learned.keys)
        do throws(DiscoveryRefusal) {
          discovery.receive(try Announcement(checking: message.peer, sender: sender), sender: sender, now: now)
        } catch {
          discovery.refuse(error, sender: sender)
        }
      case .timeout:
        discovery.handleTimeout(now: now)
      }
      var actions: [PeerDiscovery.Action] = []
      while let action = discovery.pollAction() { actions.append(action) }
      return actions
    }
    for action in actions { workSink.yield(action) }
    timer.deadlineMoved()
  }

  // MARK: - Actions

  private func perform(_ action: PeerDiscovery.Action) async {
    switch action {
    case .announce(let announcement):
      guard
        let (ours, community) = state.withLock({ state in
          state.leaving ? nil : state.ours.flatMap { ours in state.community.map { (ours, $0) } }
        })
      else { return }
      await publish(announcement, ours: ours, community: community.publicKey)
    case .addPeer(let peer), .updatePeer(let peer):
      do {
        try await control.setPeer(peer.key, allowedIPs: peer.allowedIPs.map(\.description))
        logger.notice(
          "peer discovery: \(peer.name.isEmpty ? "a peer" : peer.name) \(action.isAdd ? "joined" : "changed its allowed IPs")",
          metadata: ["peer": "\(peer.key)", "allowed_ips": "\(peer.allowedIPs.map(\.description))"])
      } catch {
        logger.error("peer discovery: could not set the WireGuard peer", metadata: ["peer": "\(peer.key)", "error": "\(error)"])
      }
      await hooks.withLock({ $0 })?.peersChanged()
    case .removePeer(let key, let reason):
      do {
        try await control.removePeer(key)
        logger.notice("peer discovery: peer removed: \(reason)", metadata: ["peer": "\(key)"])
      } catch {
        logger.error("peer discovery: could not remove the WireGuard peer", metadata: ["peer": "\(key)", "error": "\(error)"])
      }
      await hooks.withLock({ $0 })?.peersChanged()
    case .refused(let refusal, let sender):
      logger.warning("peer discovery: announcement refused: \(refusal.message)", metadata: ["reason": "\(refusal.reason.rawValue)", "sender": "\(sender)"])
    }
  }

  /// Whether the backend took the announcement.
  @discardableResult
  private func publish(_ announcement: Announcement, ours: PrivateKey, community: Key) async -> Bool {
    var message = Cunicu_Signaling_Message()
    message.peer = announcement.description(buildInfo: buildInfo)
    do {
      try await backend.publish(message, keys: KeyPair(ours: ours, theirs: community))
      logger.debug("peer discovery: announced \(announcement.change)")
      return true
    } catch {
      logger.warning("peer discovery: announcing \(announcement.change) failed; it is tried again", metadata: ["error": "\(error)"])
      return false
    }
  }
}

extension PeerDiscovery.Action {
  fileprivate var isAdd: Bool { if case .addPeer = self { true } else { false } }
}

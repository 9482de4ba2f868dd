public import WarrenCrypto
public import WarrenPrimitives
internal import WarrenWire

/// One WireGuard interface's peer discovery as a pure state machine (docs/discovery.md): it takes
/// the community's announcements and the time, and returns actions — announcements to publish,
/// WireGuard peers to add, replace or remove — for the daemon to carry out. It owns no socket or
/// clock, so every rule is tested in virtual time.
///
/// Better than cunicu's: announcements are repeated with back-off until the community answers,
/// then periodically, and a newcomer is answered, so a backend that drops envelopes for
/// recipients it does not know yet loses nothing for good; peers are removed only by REMOVE,
/// UPDATE or an expiry the user asked for; keys configured by hand are never touched.
public struct PeerDiscovery: Sendable {
  public typealias Instant = ContinuousClock.Instant

  public struct Settings: Sendable {
    /// The node's host name, announced.
    public var name: String
    /// What the node announces as its allowed IPs.
    public var allowedIPs: [IPPrefix]
    /// Extra host names and addresses, announced.
    public var hosts: [String: [TransportAddress.IP]] = [:]
    /// Only these keys are learned, if not empty …
    public var accept: Set<Key> = []
    /// … and never these.
    public var deny: Set<Key> = []
    /// At most this many learned peers.
    public var maxPeers = 256
    /// Learned peers not announced for this long are removed; `nil` keeps them until REMOVE.
    public var peerExpiry: Duration?
    /// Until the community is heard from, announcements repeat after this, doubling …
    public var retryInitial: Duration = .seconds(1)
    /// … up to this.
    public var retryMax: Duration = .seconds(30)
    /// Then every this long (± `jitter`).
    public var reannounceInterval: Duration = .seconds(300)
    /// A newcomer is answered after each of these (± `jitter`), once for all the newcomers heard
    /// meanwhile. At once, because the newcomer learns us only from it: cunicu announces once, right
    /// after it subscribes, and hears a member that started earlier only through this answer (after
    /// 1 s, as here before, the first ping against a later-started cunicu waited that second).
    /// Again after a second, for a newcomer that announced before its subscription existed (cunicu
    /// does when its interface has its key from the start) and missed the first.
    public var answerDelays: [Duration] = [.milliseconds(20), .seconds(1)]
    /// A known member that announces only at its start (cunicu) and announces again is answered
    /// at once up to 3 times, then once per this.
    public var restartAnswerSpacing: Duration = .seconds(5)
    public var jitter = 0.2

    public init(name: String, allowedIPs: [IPPrefix]) {
      self.name = name
      self.allowedIPs = allowedIPs
    }
  }

  /// A peer learned from the community.
  public struct LearnedPeer: Sendable, Equatable {
    public var key: Key
    public var name: String
    public var allowedIPs: [IPPrefix]
    public var hosts: [String: [TransportAddress.IP]]
    public var firstSeen: Instant
    public var lastAnnounced: Instant
    /// The key a member that announces only at its start (cunicu) had before it announced this
    /// one (UPDATE): cunicu keeps its sessions' subscriptions on the old key until it restarts,
    /// so messages to it go to that key too.
    public var previousKey: Key? = nil
  }

  public enum Action: Sendable, Equatable {
    /// Seal this announcement from our key to the community key and publish it.
    case announce(Announcement)
    /// Add the peer to the WireGuard interface with its allowed IPs.
    case addPeer(LearnedPeer)
    /// Update a learned peer's allowed IPs.
    case updatePeer(LearnedPeer)
    /// Remove the peer from the interface (it was learned here).
    case removePeer(Key, reason: String)
    /// An announcement was not acted on (log it, count it).
    case refused(DiscoveryRefusal, sender: Key)
  }

  public private(set) var ourKey: Key
  public let settings: Settings
  /// Learned peers, by key.
  public private(set) var learned: [Key: LearnedPeer] = [:]
  /// Keys configured on the interface by hand (set by the owner): never touched.
  public var configuredByHand: Set<Key> = []
  /// Refusals so far, by reason.
  public private(set) var refusalCounts: [DiscoveryRefusal.Reason: Int] = [:]
  /// Whether any other member was heard from.
  public private(set) var heardFromCommunity = false

  private var random: SplitMix64
  private var actions: [Action] = []
  private var nextAnnouncement: Instant?
  private var retryInterval: Duration
  /// When the answers to the latest newcomers go out, earliest first.
  private var answersDue: [Instant] = []
  /// For each learned member that announces only at its start: the answers it has left for
  /// announcing again, as of when (a time ahead of now: an answer is deferred to then).
  private var restartAnswers: [Key: (tokens: Double, at: Instant)] = [:]
  private var started = false

  public init(ourKey: Key, settings: Settings, seed: UInt64) {
    self.ourKey = ourKey
    self.settings = settings
    random = SplitMix64(seed: seed)
    retryInterval = settings.retryInitial
  }

  // MARK: - Inputs

  /// Announces the node (ADD) and starts the repetitions.
  public mutating func start(now: Instant) {
    guard !started else { return }
    started = true
    announce(.add)
    nextAnnouncement = now + jittered(retryInterval)
  }

  /// The node's key changed (the interface got a new private key): UPDATE from the new key.
  public mutating func keyChanged(to newKey: Key, now: Instant) {
    let old = ourKey
    ourKey = newKey
    guard started else { return }
    actions.append(.announce(ours(.update, oldKey: old)))
  }

  /// The announcement to publish when the node leaves cleanly.
  public func leaving() -> Announcement { ours(.remove, oldKey: nil) }

  /// An announcement from `sender` (the envelope's authenticated sender).
  public mutating func receive(_ announcement: Announcement, sender: Key, now: Instant) {
    guard sender != ourKey, announcement.key != ourKey else { return }
    let key = announcement.newKey ?? announcement.key
    if !settings.accept.isEmpty && !settings.accept.contains(key) || settings.deny.contains(key) {
      return refuse(.notAccepted, "\(key) is not accepted by this node's accept/deny lists", sender: sender)
    }
    if configuredByHand.contains(key) || configuredByHand.contains(announcement.key) {
      return refuse(.configuredByHand, "\(announcement.key) is configured on the interface by hand; discovery leaves it alone", sender: sender)
    }
    heardFromCommunity = true
    switch announcement.change {
    case .add:
      learn(announcement, key: key, sender: sender, now: now)
    case .UNRECOGNIZED:
      return  // refused when checked (``Announcement/init(checking:sender:)``)
    case .update:
      if let newKey = announcement.newKey, learned[announcement.key] != nil {
        learned[announcement.key] = nil
        restartAnswers[announcement.key] = nil
        actions.append(.removePeer(announcement.key, reason: "it announced a new key, \(newKey)"))
      }
      learn(announcement, key: key, sender: sender, now: now)
      if announcement.newKey != nil, !announcement.repeatsUntilAnswered { learned[key]?.previousKey = announcement.key }
    case .remove:
      restartAnswers[key] = nil
      guard learned.removeValue(forKey: key) != nil else {
        return refuse(.unknownPeer, "REMOVE of \(key), which this node did not learn", sender: sender)
      }
      actions.append(.removePeer(key, reason: "it left the community (REMOVE)"))
    }
  }

  /// Runs the timers due at `now`: repeated and periodic announcements, the answer to a newcomer,
  /// expiry.
  public mutating func handleTimeout(now: Instant) {
    if let due = answersDue.first, now >= due {
      answersDue.removeAll { $0 <= now }
      announce(.add)
    }
    if let due = nextAnnouncement, now >= due {
      announce(.add)
      if heardFromCommunity {
        nextAnnouncement = now + jittered(settings.reannounceInterval)
      } else {
        retryInterval = min(retryInterval * 2, settings.retryMax)
        nextAnnouncement = now + jittered(retryInterval)
      }
    }
    if let expiry = settings.peerExpiry {
      for (key, peer) in learned.sorted(by: { $0.key < $1.key }) where now - peer.lastAnnounced >= expiry {
        learned[key] = nil
        restartAnswers[key] = nil
        actions.append(.removePeer(key, reason: "not announced for \(expiry) (peer_expiry)"))
      }
    }
  }

  /// When ``handleTimeout(now:)`` must next run.
  public func pollTimeout() -> Instant? {
    var deadlines = [nextAnnouncement, answersDue.first].compactMap { $0 }
    if let expiry = settings.peerExpiry, let oldest = learned.values.map(\.lastAnnounced).min() {
      deadlines.append(oldest + expiry)
    }
    return deadlines.min()
  }

  public mutating func pollAction() -> Action? {
    actions.isEmpty ? nil : actions.removeFirst()
  }

  // MARK: - Rules

  private mutating func learn(_ announcement: Announcement, key: Key, sender: Key, now: Instant) {
    if var known = learned[key] {
      let changed = known.allowedIPs != announcement.allowedIPs
      known.name = announcement.name
      known.allowedIPs = announcement.allowedIPs
      known.hosts = announcement.hosts
      known.lastAnnounced = now
      learned[key] = known
      if changed { actions.append(.updatePeer(known)) }
      // cunicu announces only at its start: a known cunicu announcing again has restarted (after a
      // SIGKILL, without REMOVE) and knows nobody; unanswered it would hear of us only at our next
      // periodic announcement. Rate-limited (``answerRestart``): in CI a cunicu announced every
      // ~50 ms, each announcement answered, and the storm kept a session from ever connecting.
      if !announcement.repeatsUntilAnswered { answerRestart(key, now: now) }
      return
    }
    guard learned.count < settings.maxPeers else {
      return refuse(.tooManyPeers, "already \(learned.count) learned peers (max_peers); \(key) is not added", sender: sender)
    }
    let peer = LearnedPeer(
      key: key, name: announcement.name, allowedIPs: announcement.allowedIPs, hosts: announcement.hosts, firstSeen: now,
      lastAnnounced: now)
    learned[key] = peer
    actions.append(.addPeer(peer))
    // A newcomer may not have heard us (it was not subscribed yet): answer, once for several.
    answer(now: now)
    // Heard from the community: repetitions give way to the periodic announcement.
    if let due = nextAnnouncement, due - now < settings.reannounceInterval / 2, retryInterval < settings.reannounceInterval {
      nextAnnouncement = now + jittered(settings.reannounceInterval)
    }
  }

  /// Answers a known member that announced again (``learn(_:key:sender:now:)``): at once while it
  /// has answers left (3, one more every ``Settings/restartAnswerSpacing``), else once at the time
  /// the next one is due. Its routine answer to us and a restart get quick answers; a storm gets
  /// one per spacing.
  private mutating func answerRestart(_ key: Key, now: Instant) {
    let spacing = settings.restartAnswerSpacing
    var (tokens, at) = restartAnswers[key] ?? (3, now)
    if at > now { return }  // an answer is already deferred to `at`
    tokens = min(3, tokens + (now - at) / spacing)
    if tokens >= 1 {
      restartAnswers[key] = (tokens - 1, now)
      answer(now: now)
    } else {
      let due = now + spacing * (1 - tokens)
      restartAnswers[key] = (0, due)
      answersDue.append(due)
      answersDue.sort()
    }
  }

  /// Schedules the answers (``Settings/answerDelays``): each unless one already due by then
  /// covers it, so members heard together are answered together, and a member heard while only a
  /// later answer is due still gets the quick one.
  private mutating func answer(now: Instant) {
    let pending = answersDue
    for delay in settings.answerDelays {
      // Covered: an answer already due within half the delay either side of it.
      if !pending.contains(where: { $0 >= now + delay / 2 && $0 <= now + delay * 3 / 2 }) { answersDue.append(now + jittered(delay)) }
    }
    answersDue.sort()
  }

  /// An announcement that failed its checks (``Announcement/init(checking:sender:)``): counted
  /// and reported like the refusals of this machine's own rules.
  public mutating func refuse(_ refusal: DiscoveryRefusal, sender: Key) {
    refusalCounts[refusal.reason, default: 0] += 1
    actions.append(.refused(refusal, sender: sender))
  }

  private mutating func refuse(_ reason: DiscoveryRefusal.Reason, _ message: String, sender: Key) {
    refuse(DiscoveryRefusal(reason, message), sender: sender)
  }

  private mutating func announce(_ change: Announcement.Change) {
    actions.append(.announce(ours(change, oldKey: nil)))
  }

  private func ours(_ change: Announcement.Change, oldKey: Key?) -> Announcement {
    Announcement(
      change: change, name: settings.name, key: oldKey ?? ourKey, newKey: oldKey == nil ? nil : ourKey,
      allowedIPs: settings.allowedIPs, hosts: settings.hosts)
  }

  private mutating func jittered(_ duration: Duration) -> Duration { duration.jittered(by: settings.jitter, using: &random) }
}

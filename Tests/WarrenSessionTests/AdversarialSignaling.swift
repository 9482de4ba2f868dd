import WarrenICE
import WarrenSession
import WarrenSimulation
import WarrenWire
import WarrenPrimitives

/// Two peers, each a ``PeerSession`` with real ``ICEAgent``s on a ``SimulatedNetwork``, whose
/// signaling goes through an adversarial channel: every message is delayed at random (so they
/// reorder), some are delivered twice, and any message either side ever sent is re-injected at
/// random times — credentials from before a restart included. Nothing is lost (backends deliver
/// reliably). Restarts are triggered on either side: the agent fails, or the whole daemon
/// restarts (a new session that remembers nothing).
///
/// Everything runs in the network's virtual time; the harness is the network's companion.
final class AdversarialSignaling: SimulationCompanion {
  typealias Instant = ContinuousClock.Instant

  enum TriggerKind: CaseIterable {
    /// The agent fails: the session restarts with new credentials.
    case agentFailure
    /// The daemon restarts: a new session, with no memory, and new credentials.
    case daemonRestart
  }

  struct Trigger {
    let at: Instant
    let side: Int
    let kind: TriggerKind
  }

  /// What the harness saw of one side, across daemon restarts.
  struct Tally {
    /// Restarts by cause, summed over every session instance of the side.
    var restarts: [RestartCause: Int] = [:]
    /// Restarts for the peer's new credentials, by the trigger that made those credentials.
    var peerRestartsByTrigger: [Int: Int] = [:]
    /// Restarts for the peer's new credentials in a session instance that had taken a stale copy
    /// of the peer's credentials first and had not yet caught up with the peer's current ones.
    var catchUpRestarts = 0
    var dropped = 0
  }

  let network: SimulatedNetwork
  private(set) var sessions: [PeerSession]
  private(set) var tallies = [Tally(), Tally()]
  private(set) var triggers: [Trigger]
  private(set) var nextTrigger = 0
  /// Which trigger made each set of credentials (-1: a side's first start, or no trigger).
  private var origin: [ICECredentials: Int] = [:]
  /// The trigger whose new credentials a side has yet to make.
  private var pendingOrigin: [Int?] = [nil, nil]
  /// Triggers that took effect (an agent failure while there is no agent to fail does not).
  private(set) var effective: [Trigger] = []
  /// Whether each side's current session instance has held the peer's current credentials.
  private var caughtUp = [false, false]
  private var random: SplitMix64
  private var inFlight: [(at: Instant, sequence: Int, to: Int, message: Cunicu_Signaling_Message)] = []
  private var sequence = 0
  private var everSent: [[Cunicu_Signaling_Message]] = [[], []]
  private var nextInjection: Instant
  private var agentPorts: [UInt16] = [5000, 6000]
  private let wallClockAtStart: UInt64 = PeerSessionTests.epoch
  private let maxDelay: Duration
  private let duplicateRate: Double
  private let injectionInterval: Duration
  private let ice: ICEConfiguration

  /// - Parameter triggers: made from the network's start time.
  init(
    seed: UInt64, triggers: (Instant) -> [Trigger], maxDelay: Duration = .milliseconds(1500), duplicateRate: Double = 0.2,
    injectionInterval: Duration = .milliseconds(300)
  ) {
    random = SplitMix64(seed: seed)
    self.maxDelay = maxDelay
    self.duplicateRate = duplicateRate
    self.injectionInterval = injectionInterval
    var ice = ICEConfiguration()
    ice.software = ""
    self.ice = ice
    let credentials = ICECredentials(ufrag: "placeholderplace", pwd: "placeholderplaceholderplacehold")
    network = SimulatedNetwork(hosts: [
      .init(agent: ICEAgent(role: .controlling, localCredentials: credentials, seed: 1), address: TransportAddress("198.51.100.1:5000")),
      .init(agent: ICEAgent(role: .controlled, localCredentials: credentials, seed: 2), address: TransportAddress("198.51.100.2:6000")),
    ])
    self.triggers = triggers(network.start).sorted { $0.at < $1.at }
    sessions = [
      PeerSession(role: .controlling, seed: seed &* 31 &+ 1), PeerSession(role: .controlled, seed: seed &* 31 &+ 2),
    ]
    nextInjection = network.now + injectionInterval
    network.companion = self
    for side in 0..<2 {
      sessions[side].start(now: network.now, unixNanoseconds: wallClockAtStart)
      drain(side)
    }
  }

  /// Random triggers for one run: 1 to `maxCount`, between 2 s and 10 s after `start`, on either side.
  static func randomTriggers(seed: UInt64, start: Instant, maxCount: Int = 3) -> [Trigger] {
    var random = SplitMix64(seed: seed ^ 0x5eed)
    let count = 1 + Int(random.next() % UInt64(maxCount))
    return (0..<count).map { _ in
      Trigger(
        at: start + .milliseconds(2000 + Int(random.next() % 8_000)), side: Int(random.next() % 2),
        kind: TriggerKind.allCases[Int(random.next() % 2)])
    }
  }

  /// When the last trigger fires.
  var lastTrigger: Instant? { triggers.last?.at }

  var bothConnected: Bool {
    (0..<2).allSatisfy { side in
      [.connected, .completed].contains(sessions[side].state) && network.hosts[side].agent.selectedPair != nil
        && [.connected, .completed].contains(network.hosts[side].agent.state)
    }
  }

  var credentialsAgree: Bool {
    sessions[0].remoteCredentials == sessions[1].localCredentials && sessions[1].remoteCredentials == sessions[0].localCredentials
  }

  // MARK: - SimulationCompanion

  func nextDeadline() -> Instant? {
    var deadlines = [nextInjection]
    if let first = inFlight.min(by: { ($0.at, $0.sequence) < ($1.at, $1.sequence) }) { deadlines.append(first.at) }
    for side in 0..<2 { if let due = sessions[side].pollTimeout() { deadlines.append(due) } }
    if nextTrigger < triggers.count { deadlines.append(triggers[nextTrigger].at) }
    return deadlines.min()
  }

  func step(_ network: SimulatedNetwork) {
    let now = network.now
    for side in 0..<2 {
      while !network.hosts[side].events.isEmpty {
        let event = network.hosts[side].events.removeFirst()
        if case .stateChanged(let state) = event {
          sessions[side].agentStateChanged(state, now: now)
          drain(side)
        }
      }
    }
    while let index = inFlight.indices.filter({ inFlight[$0].at <= now }).min(by: {
      (inFlight[$0].at, inFlight[$0].sequence) < (inFlight[$1].at, inFlight[$1].sequence)
    }) {
      let delivery = inFlight.remove(at: index)
      receive(delivery.message, at: delivery.to)
    }
    for side in 0..<2 where (sessions[side].pollTimeout().map { $0 <= now } ?? false) {
      sessions[side].handleTimeout(now: now)
      drain(side)
    }
    while nextTrigger < triggers.count, triggers[nextTrigger].at <= now {
      fire(nextTrigger)
      nextTrigger += 1
    }
    if now >= nextInjection {
      reinject()
      nextInjection = now + injectionInterval * (0.5 + Double(random.next() % 1000) / 1000)
    }
  }

  private func updateCaughtUp() {
    for side in 0..<2 where sessions[side].remoteCredentials != nil && sessions[side].remoteCredentials == sessions[1 - side].localCredentials {
      caughtUp[side] = true
    }
  }

  // MARK: - Signaling

  private func send(_ message: Cunicu_Signaling_Message, from side: Int) {
    everSent[side].append(message)
    schedule(message, to: 1 - side)
    if Double(random.next() % 1000) / 1000 < duplicateRate { schedule(message, to: 1 - side) }
  }

  private func schedule(_ message: Cunicu_Signaling_Message, to side: Int) {
    sequence += 1
    let delay = maxDelay * (Double(random.next() % 1001) / 1000)
    inFlight.append((network.now + delay, sequence, side, message))
  }

  /// Any message either side ever sent, again; credentials half of the time.
  private func reinject() {
    let side = Int(random.next() % 2)
    let credentials = everSent[side].filter(\.hasCredentials)
    let pool = random.next() % 2 == 0 && !credentials.isEmpty ? credentials : everSent[side]
    guard !pool.isEmpty else { return }
    schedule(pool[Int(random.next() % UInt64(pool.count))], to: 1 - side)
  }

  private func receive(_ message: Cunicu_Signaling_Message, at side: Int) {
    let before = sessions[side].restartCounts
    let stale = sessions[side].remoteCredentials.map { $0 != sessions[1 - side].localCredentials } ?? false
    let caughtUpBefore = caughtUp[side]
    sessions[side].receive(message, now: network.now)
    let peerRestarts = sessions[side].restartCounts[.peerRestarted, default: 0] - before[.peerRestarted, default: 0]
    if peerRestarts > 0, let theirs = sessions[side].remoteCredentials {
      if !caughtUpBefore && stale {
        tallies[side].catchUpRestarts += peerRestarts
      } else {
        // -1: credentials that no trigger made, so a restart for nothing.
        tallies[side].peerRestartsByTrigger[origin[theirs] ?? -1, default: 0] += peerRestarts
      }
    }
    drain(side)
  }

  // MARK: - Restarts

  private func fire(_ index: Int) {
    let trigger = triggers[index]
    let side = trigger.side
    switch trigger.kind {
    case .agentFailure:
      guard ![.unknown, .idle, .closed].contains(sessions[side].state) else { return }
      pendingOrigin[side] = index
      network.hosts[side].agent.close()
      network.hosts[side].events = []
      sessions[side].agentStateChanged(.failed, now: network.now)
    case .daemonRestart:
      pendingOrigin[side] = index
      network.hosts[side].agent.close()
      network.hosts[side].events = []
      accumulate(side)
      let role: ICERole = side == 0 ? .controlling : .controlled
      sessions[side] = PeerSession(role: role, seed: random.next())
      caughtUp[side] = false
      let elapsed = (network.now - network.start).components
      let wallClock = wallClockAtStart + UInt64(elapsed.seconds) * 1_000_000_000 + UInt64(elapsed.attoseconds / 1_000_000_000)
      sessions[side].start(now: network.now, unixNanoseconds: wallClock)
    }
    effective.append(trigger)
    drain(side)
  }

  /// Adds a session instance's counters to the side's tally (before a daemon restart replaces it).
  private func accumulate(_ side: Int) {
    restartsOfReplacedSessions += sessions[side].restarts
    tallies[side].restarts.merge(sessions[side].restartCounts, uniquingKeysWith: +)
    tallies[side].dropped += sessions[side].droppedCounts.values.reduce(0, +)
  }

  /// Restarts of both sides so far (cheap: checked after every step of the network).
  var totalRestarts: Int { restartsOfReplacedSessions + sessions[0].restarts + sessions[1].restarts }
  private var restartsOfReplacedSessions = 0

  /// The tallies with the current session instances' counters included.
  var finalTallies: [Tally] {
    (0..<2).map { side in
      var tally = tallies[side]
      tally.restarts.merge(sessions[side].restartCounts, uniquingKeysWith: +)
      tally.dropped += sessions[side].droppedCounts.values.reduce(0, +)
      return tally
    }
  }

  // MARK: - Carrying out the sessions' actions

  private func drain(_ side: Int) {
    let now = network.now
    while let action = sessions[side].pollAction() {
      switch action {
      case .createAgent(let credentials, let role):
        if origin[credentials] == nil {
          origin[credentials] = pendingOrigin[side] ?? -1
          pendingOrigin[side] = nil
        }
        // A new agent gets a new socket: stale datagrams to the old one go nowhere.
        agentPorts[side] += 1
        let ip = side == 0 ? "198.51.100.1" : "198.51.100.2"
        network.hosts[side].address = TransportAddress("\(ip):\(agentPorts[side])")
        network.hosts[side].agent = ICEAgent(role: role, localCredentials: credentials, configuration: ice, seed: random.next())
        network.hosts[side].events = []
      case .closeAgent:
        network.hosts[side].agent.close()
        network.hosts[side].events = []
      case .setRemoteCredentials(let credentials):
        network.hosts[side].agent.setRemoteCredentials(credentials, now: now)
      case .startGathering:
        let candidate = Candidate(type: .host, address: network.hosts[side].address)
        network.hosts[side].agent.addLocalCandidate(candidate, now: now)
        sessions[side].localCandidate(candidate, now: now)
      case .addRemoteCandidate(let candidate):
        network.hosts[side].agent.addRemoteCandidate(candidate, now: now)
      case .send(let message):
        send(message, from: side)
      case .transition, .dropped:
        break
      }
    }
    updateCaughtUp()
  }
}

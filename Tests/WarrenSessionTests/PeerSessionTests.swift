import Testing
import WarrenICE
import WarrenSession
import WarrenWire

/// Two sessions joined by a signaling channel in virtual time; the ICE agents are stood in for by
/// the test, which reports agent states when the session asks for gathering and candidates.
final class SessionPair {
  var sessions: [PeerSession]
  var now = ContinuousClock.now
  var inFlight: [(to: Int, message: Cunicu_Signaling_Message)] = []
  var sent: [[(at: Duration, message: Cunicu_Signaling_Message)]] = [[], []]
  var transitions: [[SessionState]] = [[], []]
  var added: [[Candidate]] = [[], []]
  var agentsCreated = [0, 0]
  let start: ContinuousClock.Instant
  /// Return true to drop a message (index of the sender, message).
  var drop: (Int, Cunicu_Signaling_Message) -> Bool = { _, _ in false }
  var duplicate = false

  init(configuration: SessionConfiguration = SessionConfiguration()) {
    sessions = [
      PeerSession(role: .controlling, configuration: configuration, seed: 1),
      PeerSession(role: .controlled, configuration: configuration, seed: 2),
    ]
    start = now
  }

  static func candidate(_ port: Int32) -> Cunicu_Epdisc_Candidate {
    var candidate = Cunicu_Epdisc_Candidate()
    candidate.type = .host
    candidate.networkType = .udp4
    candidate.address = "198.51.100.1"
    candidate.port = port
    candidate.component = 1
    return candidate
  }

  /// ``candidate(_:)`` as the session hands it to the agent.
  static func iceCandidate(_ port: Int32) -> Candidate {
    Candidate(candidate(port))!
  }

  /// Carries out every pending action of session `index`.
  func drain(_ index: Int) {
    while let action = sessions[index].pollAction() {
      switch action {
      case .send(let message):
        sent[index].append((now - start, message))
        if drop(index, message) { continue }
        inFlight.append((1 - index, message))
        if duplicate { inFlight.append((1 - index, message)) }
      case .transition(_, let to, _):
        transitions[index].append(to)
      case .startGathering:
        // The stand-in agent gathers one host candidate at once.
        sessions[index].localCandidate(SessionPair.iceCandidate(Int32(5000 + index)), now: now)
      case .addRemoteCandidate(let candidate):
        added[index].append(candidate)
      case .createAgent:
        agentsCreated[index] += 1
      case .closeAgent, .setRemoteCredentials, .dropped:
        break
      }
    }
  }

  /// Delivers everything in flight (and what that causes) at the current time.
  func settle() {
    for index in 0..<2 { drain(index) }
    while !inFlight.isEmpty {
      let (to, message) = inFlight.removeFirst()
      sessions[to].receive(message, now: now)
      for index in 0..<2 { drain(index) }
    }
  }

  /// Advances virtual time to `limit`, running timers and delivering messages.
  func run(until limit: Duration) {
    settle()
    while true {
      guard let next = sessions.compactMap({ $0.pollTimeout() }).min(), next - start <= limit else { break }
      now = max(now, next)
      for index in 0..<2 { sessions[index].handleTimeout(now: now) }
      settle()
    }
    now = max(now, start + limit)
  }

  func agent(_ index: Int, _ state: ICEConnectionState) {
    sessions[index].agentStateChanged(state, now: now)
    settle()
  }

  /// Starts both sessions and delivers what follows (they reach Connecting).
  func startBoth() {
    sessions[0].start(now: now, unixNanoseconds: PeerSessionTests.epoch)
    sessions[1].start(now: now, unixNanoseconds: PeerSessionTests.epoch)
    settle()
  }

  /// Starts both sessions and reports their agents connected (controlling: Completed).
  func connectBoth() {
    startBoth()
    agent(0, .completed)
    agent(1, .connected)
  }

  /// When session `index` sent each message, in seconds since the start.
  func sendTimes(_ index: Int) -> [Double] {
    sent[index].map { Double($0.at.components.seconds) + Double($0.at.components.attoseconds) / 1e18 }
  }
}

@Suite("Peer session state machine in virtual time")
struct PeerSessionTests {
  /// The wall clock at the start of a test (2026-12-01, in nanoseconds since the Unix epoch).
  static let epoch: UInt64 = 1_796_083_200_000_000_000

  @Test("both roles walk Unknown → Idle → New → Connecting → Checking → Connected/Completed")
  func happyPath() {
    let pair = SessionPair()
    pair.startBoth()
    #expect(pair.sessions.map(\.state) == [.connecting, .connecting])
    pair.agent(0, .checking)
    pair.agent(1, .checking)
    pair.agent(0, .completed)
    pair.agent(1, .connected)
    #expect(pair.transitions[0] == [.idle, .new, .connecting, .checking, .completed])
    #expect(pair.transitions[1] == [.idle, .new, .connecting, .checking, .connected])
    #expect(pair.added[0] == [SessionPair.iceCandidate(5001)])
    #expect(pair.added[1] == [SessionPair.iceCandidate(5000)])
    #expect(pair.sessions[0].remoteCredentials == pair.sessions[1].localCredentials)
    #expect(pair.sessions[1].remoteCredentials == pair.sessions[0].localCredentials)
    // Each candidate went as its own message.
    #expect(pair.sent[0].filter { $0.message.hasCandidate }.count == 1)
  }

  @Test("credentials are re-sent while Idle: 0.5 s, ×1.5, capped at 60 s, never giving up")
  func backoffSchedule() {
    var configuration = SessionConfiguration()
    configuration.credentialsRandomization = 0
    let pair = SessionPair(configuration: configuration)
    pair.sessions[0].start(now: pair.now, unixNanoseconds: PeerSessionTests.epoch)  // the peer never answers
    pair.run(until: .seconds(600))
    let times = pair.sendTimes(0)
    let intervals = zip(times.dropFirst(), times).map { $0 - $1 }
    var expected: [Double] = []
    var interval = 0.5
    for _ in intervals {
      expected.append(interval)
      interval = min(interval * 1.5, 60)
    }
    #expect(intervals.count > 12)
    for (got, want) in zip(intervals, expected) { #expect(abs(got - want) < 1e-6) }
    #expect(intervals.last == 60)
    #expect(pair.sent[0].allSatisfy { $0.message.credentials.needCreds })
    #expect(pair.sessions[0].state == .idle)
  }

  @Test("the back-off is randomised within ±50 %")
  func backoffJitter() {
    let pair = SessionPair()
    pair.sessions[0].start(now: pair.now, unixNanoseconds: PeerSessionTests.epoch)
    pair.run(until: .seconds(120))
    let times = pair.sendTimes(0)
    var nominal = 0.5
    for (later, earlier) in zip(times.dropFirst(), times) {
      let interval = later - earlier
      #expect(interval >= nominal * 0.5 - 1e-9 && interval <= nominal * 1.5 + 1e-9)
      nominal = min(nominal * 1.5, 60)
    }
  }

  @Test("lost credentials are recovered by the back-off")
  func lostCredentials() {
    let pair = SessionPair()
    var lost = 0
    pair.drop = { sender, message in
      guard sender == 0, message.hasCredentials, lost < 3 else { return false }
      lost += 1
      return true
    }
    pair.sessions[1].start(now: pair.now, unixNanoseconds: PeerSessionTests.epoch)
    pair.sessions[0].start(now: pair.now, unixNanoseconds: PeerSessionTests.epoch)
    pair.run(until: .seconds(10))
    #expect(pair.sessions.map(\.state) == [.connecting, .connecting])
  }

  @Test("every message delivered twice changes nothing")
  func duplicates() {
    let pair = SessionPair()
    pair.duplicate = true
    pair.startBoth()
    #expect(pair.transitions[0] == [.idle, .new, .connecting])
    #expect(pair.transitions[1] == [.idle, .new, .connecting])
    // Each side's one candidate reaches its agent (twice: the agent keeps one per address).
    #expect(Set(pair.added[0]) == [SessionPair.iceCandidate(5001)] && Set(pair.added[1]) == [SessionPair.iceCandidate(5000)])
    #expect(pair.sessions.map(\.restarts) == [0, 0])
  }

  @Test("a candidate that overtakes the credentials is kept and added after them")
  func reordered() {
    var session = PeerSession(role: .controlled, seed: 3)
    let now = ContinuousClock.now
    session.start(now: now, unixNanoseconds: PeerSessionTests.epoch)
    var candidateMessage = Cunicu_Signaling_Message()
    candidateMessage.candidate = SessionPair.candidate(7000)
    session.receive(candidateMessage, now: now)
    var actions: [PeerSession.Action] = []
    while let action = session.pollAction() { actions.append(action) }
    #expect(!actions.contains(.addRemoteCandidate(SessionPair.iceCandidate(7000))))
    var credentials = Cunicu_Signaling_Message()
    credentials.credentials.ufrag = "abcdefghijklmnop"
    credentials.credentials.pwd = "abcdefghijklmnopabcdefghijklmnop"
    session.receive(credentials, now: now)
    actions = []
    while let action = session.pollAction() { actions.append(action) }
    #expect(actions.contains(.addRemoteCandidate(SessionPair.iceCandidate(7000))))
    #expect(session.state == .new)
  }

  @Test("either side restarting costs the other one restart, which keeps its credentials", arguments: [0, 1])
  func peerRestart(restarting: Int) {
    let pair = SessionPair()
    pair.connectBoth()
    let before = pair.sessions[1 - restarting].remoteCredentials
    let othersOwn = pair.sessions[1 - restarting].localCredentials
    pair.agent(restarting, .failed)  // its agent failed: it restarts with new credentials
    #expect(pair.sessions[restarting].restartCounts == [.agentFailed: 1])
    #expect(pair.sessions[1 - restarting].restartCounts == [.peerRestarted: 1])
    #expect(pair.sessions[1 - restarting].remoteCredentials != before)
    // Answering the restart is not a restart the first side could see.
    #expect(pair.sessions[1 - restarting].localCredentials == othersOwn)
    #expect(pair.sessions[restarting].remoteCredentials == othersOwn)
    #expect(pair.transitions[restarting].suffix(5) == [.failed, .closed, .idle, .new, .connecting])
    #expect(pair.transitions[1 - restarting].suffix(4) == [.closed, .idle, .new, .connecting])
    #expect(pair.agentsCreated == [2, 2])
  }

  @Test("disconnected for the restart timeout restarts; recovering in time does not")
  func disconnected() {
    let pair = SessionPair()
    pair.connectBoth()
    pair.agent(0, .disconnected)
    pair.run(until: .seconds(3))
    pair.agent(0, .completed)
    pair.run(until: .seconds(20))
    #expect(pair.sessions[0].restarts == 0)
    #expect(pair.sessions[0].state == .completed)
    pair.agent(0, .disconnected)
    pair.run(until: .seconds(30))
    #expect(pair.sessions[0].restarts == 1)
    #expect(pair.sessions[0].state == .connecting)
  }

  @Test("messages before start and empty credentials are ignored")
  func ignored() {
    var session = PeerSession(role: .controlling, seed: 4)
    var credentials = Cunicu_Signaling_Message()
    credentials.credentials.ufrag = "abc"
    credentials.credentials.pwd = "def"
    session.receive(credentials, now: ContinuousClock.now)
    #expect(session.state == .unknown && session.pollAction() == nil)
    session.start(now: ContinuousClock.now, unixNanoseconds: PeerSessionTests.epoch)
    while session.pollAction() != nil {}
    session.receive(Cunicu_Signaling_Message(), now: ContinuousClock.now)
    var empty = Cunicu_Signaling_Message()
    empty.credentials.needCreds = true
    session.receive(empty, now: ContinuousClock.now)
    #expect(session.state == .idle)
  }
}

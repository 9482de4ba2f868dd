import Testing
import WarrenICE
import WarrenSession
import SwiftProtobuf
import WarrenWire
import WarrenPrimitives

/// Messages as a peer sends them: with Warren's agent generation, or without it (a cunicu peer).
enum PeerMessage {
  static func credentials(_ name: String, needCreds: Bool, generation: UInt64? = nil) -> Cunicu_Signaling_Message {
    var message = Cunicu_Signaling_Message()
    let word = String(repeating: name, count: 32)
    message.credentials.ufrag = String(word.prefix(16))
    message.credentials.pwd = String(word.prefix(32))
    message.credentials.needCreds = needCreds
    if let generation { message.freshness.agentGeneration = generation }
    return message
  }

  static func iceCredentials(_ name: String) -> ICECredentials {
    let message = credentials(name, needCreds: false)
    return ICECredentials(ufrag: message.credentials.ufrag, pwd: message.credentials.pwd)
  }

  static func candidate(_ port: Int32, generation: UInt64? = nil) -> Cunicu_Signaling_Message {
    var message = Cunicu_Signaling_Message()
    message.candidate = SessionPair.candidate(port)
    if let generation { message.freshness.agentGeneration = generation }
    return message
  }
}

extension PeerSession {
  /// Every pending action.
  mutating func drain() -> [Action] {
    var actions: [Action] = []
    while let action = pollAction() { actions.append(action) }
    return actions
  }

  /// Receives `message` and returns what it caused.
  mutating func take(_ message: Cunicu_Signaling_Message, now: Instant) -> [Action] {
    receive(message, now: now)
    return drain()
  }
}

extension [PeerSession.Action] {
  var sentMessages: [Cunicu_Signaling_Message] {
    compactMap { if case .send(let message) = $0 { message } else { nil } }
  }

  var createdAgents: Int { filter { if case .createAgent = $0 { true } else { false } }.count }

  var addedCandidatePorts: [Int32] {
    compactMap { if case .addRemoteCandidate(let candidate) = $0 { Int32(candidate.address.port) } else { nil } }
  }
}

@Suite("Session restarts converge whatever signaling delivers")
struct RestartConvergenceTests {
  let start = ContinuousClock.now

  /// A session that took the peer's credentials `one` and connected over a candidate.
  func connected(role: ICERole = .controlling, generation: UInt64? = nil) -> PeerSession {
    var session = PeerSession(role: role, seed: 11)
    session.start(now: start, unixNanoseconds: PeerSessionTests.epoch)
    _ = session.take(PeerMessage.credentials("one", needCreds: true, generation: generation), now: start)
    _ = session.take(PeerMessage.candidate(7000, generation: generation), now: start)
    session.localCandidate(SessionPair.iceCandidate(5000), now: start)
    session.agentStateChanged(.completed, now: start)
    _ = session.drain()
    return session
  }

  @Test("after the peer restarted, its recorded messages replayed once and then 100 times change nothing")
  func replayAfterRestart() throws {
    let pair = SessionPair()
    pair.connectBoth()
    let beforeRestart = [pair.sent[0].map(\.message), pair.sent[1].map(\.message)]
    pair.agent(1, .failed)
    pair.agent(0, .completed)
    pair.agent(1, .connected)
    let restarts = pair.sessions.map(\.restartCounts)
    let transitions = pair.transitions
    let sentCount = pair.sent.map(\.count)
    #expect(restarts == [[.peerRestarted: 1], [.agentFailed: 1]])

    // The case: one answer (need_creds false) of the peer from before its restart.
    let staleAnswer = try #require(beforeRestart[1].first { $0.hasCredentials && !$0.credentials.needCreds })
    pair.inFlight.append((to: 0, message: staleAnswer))
    pair.settle()
    // Its sent_at was accepted before: the replay guard drops it before the session judges it.
    #expect(pair.sessions[0].droppedCounts == [.staleFreshness: 1])
    // Then everything either side sent before the restart, a hundred times, in any order.
    for round in 0..<100 {
      for (sender, messages) in beforeRestart.enumerated() {
        for message in round % 2 == 0 ? messages : messages.reversed() {
          pair.inFlight.append((to: 1 - sender, message: message))
        }
      }
      pair.settle()
    }
    #expect(pair.sessions.map(\.restartCounts) == restarts)
    #expect(pair.transitions == transitions)
    #expect(pair.sessions.map(\.state) == [.completed, .connected])
    // Stale messages are not even answered.
    #expect(pair.sent.map(\.count) == sentCount)
    #expect(pair.sessions[0].droppedCounts == [.staleFreshness: 1 + 100 * beforeRestart[1].count])
    #expect(pair.sessions[1].droppedCounts == [.staleFreshness: 100 * beforeRestart[0].count])
  }

  @Test("cunicu peers: old credentials never restart; unknown ones restart only when they ask for ours")
  func cunicuRules() {
    var session = connected()
    let ours = session.localCredentials
    #expect(session.state == .completed)
    // Unknown credentials that do not ask for ours: a late answer, not a restart.
    #expect(session.take(PeerMessage.credentials("two", needCreds: false), now: start) == [.dropped(.unannouncedCredentials)])
    // Unknown credentials that ask for ours: the peer restarted.
    let restart = session.take(PeerMessage.credentials("two", needCreds: true), now: start)
    #expect(restart.createdAgents == 1 && session.restartCounts == [.peerRestarted: 1])
    #expect(restart.contains(.createAgent(ours!, .controlling)))
    #expect(restart.sentMessages.map(\.credentials.needCreds) == [false])
    #expect(session.localCredentials == ours && session.remoteCredentials == PeerMessage.iceCredentials("two"))
    // A late copy of the first credentials, either kind: dropped.
    #expect(session.take(PeerMessage.credentials("one", needCreds: true), now: start) == [.dropped(.oldCredentials)])
    #expect(session.take(PeerMessage.credentials("one", needCreds: false), now: start) == [.dropped(.oldCredentials)])
    // The current ones asking again: answered, nothing else.
    let answer = session.take(PeerMessage.credentials("two", needCreds: true), now: start)
    #expect(answer.count == 1 && answer.sentMessages.map(\.credentials.ufrag) == [ours!.ufrag])
    #expect(session.restarts == 1 && session.state == .new)
  }

  @Test("candidates of an older agent are dropped; a newer agent's wait for its credentials")
  func candidatesByGeneration() {
    var session = connected(generation: 10)
    #expect(session.take(PeerMessage.candidate(7001, generation: 20), now: start).addedCandidatePorts == [])
    let restart = session.take(PeerMessage.credentials("two", needCreds: true, generation: 20), now: start)
    #expect(session.restartCounts == [.peerRestarted: 1])
    #expect(restart.addedCandidatePorts == [7001])
    #expect(session.take(PeerMessage.candidate(7002, generation: 10), now: start) == [.dropped(.staleAgent)])
    #expect(session.take(PeerMessage.credentials("one", needCreds: true, generation: 10), now: start) == [.dropped(.staleAgent)])
    #expect(session.take(PeerMessage.candidate(7003, generation: 20), now: start).addedCandidatePorts == [7003])
    // Different credentials with the current generation: no honest peer sends that.
    #expect(
      session.take(PeerMessage.credentials("six", needCreds: true, generation: 20), now: start)
        == [.dropped(.conflictingCredentials)])
  }

  @Test("the peer's newer agent with the same credentials (its answer to our restart) is not a restart")
  func renewedAgent() {
    var session = connected(generation: 10)
    let renewed = session.take(PeerMessage.credentials("one", needCreds: false, generation: 30), now: start)
    #expect(renewed.isEmpty && session.restarts == 0 && session.peer.newestGeneration == 30)
    #expect(session.take(PeerMessage.candidate(7005, generation: 10), now: start) == [.dropped(.staleAgent)])
    #expect(session.take(PeerMessage.candidate(7006, generation: 30), now: start).addedCandidatePorts == [7006])
  }

  @Test("agent generations follow the wall clock, always grow, and go with every message")
  func generations() {
    var session = connected(generation: 10)
    #expect(session.agentGeneration == PeerSessionTests.epoch)
    session.agentStateChanged(.failed, now: start + .seconds(3))
    let restart = session.drain()
    #expect(session.agentGeneration == PeerSessionTests.epoch + 3_000_000_000)
    #expect(restart.sentMessages.allSatisfy { $0.freshness.agentGeneration == session.agentGeneration })
    _ = session.take(PeerMessage.credentials("one", needCreds: false, generation: 10), now: start + .seconds(3))
    session.agentStateChanged(.failed, now: start + .seconds(3))
    #expect(session.agentGeneration == PeerSessionTests.epoch + 3_000_000_001)
  }

  @Test("New without the peer's candidates asks again at 1, 3, 7 and 15 s, restarts after the establish timeout; checks starting stop the timer")
  func establishTimeout() {
    var session = PeerSession(role: .controlled, seed: 12)
    session.start(now: start, unixNanoseconds: PeerSessionTests.epoch)
    _ = session.take(PeerMessage.credentials("one", needCreds: true), now: start)
    _ = session.drain()
    var asked: [Duration] = []
    while let due = session.pollTimeout(), due < start + .seconds(30) {
      session.handleTimeout(now: due)
      if session.drain().sentMessages.contains(where: { $0.hasCredentials && $0.credentials.needCreds }) { asked.append(due - start) }
    }
    #expect(asked == [.seconds(1), .seconds(3), .seconds(7), .seconds(15)])
    #expect(session.state == .new && session.pollTimeout() == start + .seconds(30))
    session.handleTimeout(now: start + .seconds(30))
    #expect(session.restartCounts == [.stalled: 1] && session.state == .idle)

    _ = session.take(PeerMessage.credentials("one", needCreds: false), now: start + .seconds(31))
    _ = session.take(PeerMessage.candidate(7000), now: start + .seconds(31))
    session.localCandidate(SessionPair.iceCandidate(5000), now: start + .seconds(31))
    session.agentStateChanged(.checking, now: start + .seconds(32))
    #expect(session.state == .checking && session.pollTimeout() == nil)
  }

  @Test("a request that repeats our current credentials is answered with our candidates again (the peer missed them)")
  func candidatesSentAgain() {
    var session = PeerSession(role: .controlling, seed: 14)
    session.start(now: start, unixNanoseconds: PeerSessionTests.epoch)
    _ = session.take(PeerMessage.credentials("one", needCreds: true), now: start)
    session.localCandidate(SessionPair.iceCandidate(5000), now: start)
    session.localCandidate(SessionPair.iceCandidate(5001), now: start)
    _ = session.drain()
    // The peer asks again with the same credentials: not a restart; credentials, then both candidates.
    let answer = session.take(PeerMessage.credentials("one", needCreds: true), now: start + .seconds(1)).sentMessages
    #expect(session.restarts == 0)
    #expect(answer.count == 3 && answer[0].hasCredentials && !answer[0].credentials.needCreds)
    #expect(answer.dropFirst().map { $0.candidate.port } == [5000, 5001])
    // An answer without need_creds is not a request: nothing is sent again.
    #expect(session.take(PeerMessage.credentials("one", needCreds: false), now: start + .seconds(2)).sentMessages.isEmpty)
  }

  @Test("restarts in a row are paced: three at once, then 1 s, 2 s, 4 s … at most 30 s; a quiet minute resets")
  func restartPacing() {
    var session = PeerSession(role: .controlling, seed: 13)
    var now = start
    session.start(now: now, unixNanoseconds: PeerSessionTests.epoch)
    var agentTimes: [Duration] = []
    var reasons: [String] = []
    func failOnce() {
      _ = session.take(PeerMessage.credentials("one", needCreds: false), now: now)
      session.agentStateChanged(.failed, now: now)
      while true {
        for action in session.drain() {
          if case .createAgent = action { agentTimes.append(now - start) }
          if case .transition(_, .closed, let reason) = action { reasons.append(reason) }
        }
        guard session.state == .closed, let due = session.pollTimeout() else { break }
        now = due
        session.handleTimeout(now: now)
      }
    }
    for _ in 0..<10 { failOnce() }
    #expect(agentTimes == [0, 0, 0, 1, 3, 7, 15, 31, 61, 91].map { Duration.seconds($0) })
    #expect(reasons[3].hasSuffix("restarting in 1.0 seconds (restart back-off)"))
    #expect(session.restartCounts == [.agentFailed: 10])
    now += .seconds(60)
    failOnce()
    #expect(agentTimes.last == now - start)
  }

  @Test("a restarted daemon that first gets a stale copy of the peer's credentials converges; the peer restarts once")
  func freshSessionTakesStaleCopyFirst() throws {
    let pair = SessionPair()
    pair.connectBoth()
    pair.agent(1, .failed)  // the peer restarts once: its first credentials are old now
    pair.agent(0, .completed)
    pair.agent(1, .connected)
    let oldCredentials = try #require(pair.sent[1].first { $0.message.hasCredentials }?.message)
    let peerRestarts = pair.sessions[1].restarts
    // Session 0's daemon restarts: a new session, no memory; the stale copy arrives first.
    pair.sessions[0] = PeerSession(role: .controlling, seed: 21)
    pair.sessions[0].start(now: pair.now, unixNanoseconds: PeerSessionTests.epoch + 60_000_000_000)
    pair.inFlight.insert((to: 0, message: oldCredentials), at: 0)
    pair.settle()
    pair.agent(0, .completed)
    pair.agent(1, .connected)
    #expect(pair.sessions.map(\.state) == [.completed, .connected])
    #expect(pair.sessions[0].remoteCredentials == pair.sessions[1].localCredentials)
    #expect(pair.sessions[1].remoteCredentials == pair.sessions[0].localCredentials)
    #expect(pair.sessions[0].restartCounts == [.peerRestarted: 1])  // the stale copy cost its own side one
    #expect(pair.sessions[1].restarts == peerRestarts + 1)  // and the peer one, for the daemon's restart
  }

  @Test("the generation travels in field 100, which cunicu skips; cunicu's bytes parse without it")
  func wireFormat() throws {
    var message = Cunicu_Signaling_Message()
    message.credentials.ufrag = "ab"
    message.credentials.pwd = "cd"
    message.credentials.needCreds = true
    let cunicu: [UInt8] = [0x0a, 0x0a, 0x0a, 0x02, 0x61, 0x62, 0x12, 0x02, 0x63, 0x64, 0x18, 0x01]
    #expect(try message.serializedBytes() as [UInt8] == cunicu)
    #expect(try !Cunicu_Signaling_Message(serializedBytes: cunicu).hasFreshness)
    message.freshness.agentGeneration = 1
    #expect(try message.serializedBytes() as [UInt8] == cunicu + [0xa2, 0x06, 0x02, 0x08, 0x01])
  }
}

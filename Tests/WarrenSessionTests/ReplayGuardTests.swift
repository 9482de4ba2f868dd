import Testing
import WarrenICE
import WarrenSession
import WarrenWire

@Suite("Replays recognised before the session: nonces and sent_at, in virtual time")
struct ReplayGuardTests {
  let start = ContinuousClock.now
  let wall = PeerSessionTests.epoch
  static let second: UInt64 = 1_000_000_000

  func nonce(_ index: Int) -> [UInt8] { (0..<24).map { UInt8(truncatingIfNeeded: index >> (8 * ($0 % 4))) ^ UInt8($0) } }

  @Test("an exact copy of an envelope is refused by its nonce, for the nonce lifetime")
  func seenNonce() {
    var replay = ReplayGuard()
    #expect(replay.admit(nonce: nonce(1), sentAt: nil, now: start, wallClock: wall) == nil)
    #expect(replay.admit(nonce: nonce(1), sentAt: nil, now: start + .seconds(599), wallClock: wall) == .seenNonce)
    #expect(replay.admit(nonce: nonce(2), sentAt: nil, now: start + .seconds(599), wallClock: wall) == nil)
    // Ten minutes later nonce 1 is forgotten (a cunicu peer's copy then meets the credentials rules).
    #expect(replay.admit(nonce: nonce(1), sentAt: nil, now: start + .seconds(600), wallClock: wall) == nil)
    #expect(replay.rememberedNonces == 2)
  }

  @Test("the nonce memory holds at most nonceMemory entries, forgetting the oldest")
  func nonceBound() {
    var configuration = ReplayGuard.Configuration()
    configuration.nonceMemory = 100
    var replay = ReplayGuard(configuration: configuration)
    for index in 0..<1000 { #expect(replay.admit(nonce: nonce(index), sentAt: nil, now: start, wallClock: wall) == nil) }
    #expect(replay.rememberedNonces == 100)
    #expect(replay.admit(nonce: nonce(999), sentAt: nil, now: start, wallClock: wall) == .seenNonce)
    #expect(replay.admit(nonce: nonce(900), sentAt: nil, now: start, wallClock: wall) == .seenNonce)
    #expect(replay.admit(nonce: nonce(899), sentAt: nil, now: start, wallClock: wall) == nil)
  }

  @Test("a nonce that is not 24 bytes is not remembered, and a refused message leaves no trace")
  func refusedLeavesNoTrace() {
    var replay = ReplayGuard()
    #expect(replay.admit(nonce: [1, 2, 3], sentAt: nil, now: start, wallClock: wall) == nil)
    #expect(replay.rememberedNonces == 0)
    #expect(replay.admit(nonce: nonce(1), sentAt: wall - 3600 * Self.second, now: start, wallClock: wall) == .outsideClockWindow)
    #expect(replay.rememberedNonces == 0 && replay.rememberedSentAt == 0)
  }

  @Test("first contact: sent_at within ±10 min of our clock is accepted, further is refused")
  func clockWindow() {
    for (offset, expected) in [(-601, DroppedMessageReason.outsideClockWindow), (-599, nil), (599, nil), (601, .outsideClockWindow)] {
      var replay = ReplayGuard()
      let sentAt = UInt64(Int64(wall) + Int64(offset) * Int64(Self.second))
      #expect(replay.admit(nonce: nonce(1), sentAt: sentAt, now: start, wallClock: wall) == expected, "offset \(offset) s")
    }
  }

  @Test("after first contact: each sent_at once, reordering within 60 s, nothing older, nothing from our future")
  func reorderWindow() {
    var replay = ReplayGuard()
    let first = wall - 300 * Self.second  // a peer whose clock is five minutes behind ours
    #expect(replay.admit(nonce: nonce(1), sentAt: first, now: start, wallClock: wall) == nil)
    #expect(replay.admit(nonce: nonce(2), sentAt: first + 50 * Self.second, now: start, wallClock: wall) == nil)
    // Overtaken by a newer one: still accepted within the window, once.
    #expect(replay.admit(nonce: nonce(3), sentAt: first + 20 * Self.second, now: start, wallClock: wall) == nil)
    #expect(replay.admit(nonce: nonce(4), sentAt: first + 20 * Self.second, now: start, wallClock: wall) == .staleFreshness)
    // 60 s or more behind the newest: stale, although it was never seen.
    #expect(replay.admit(nonce: nonce(5), sentAt: first - 10 * Self.second, now: start, wallClock: wall) == .staleFreshness)
    #expect(replay.admit(nonce: nonce(6), sentAt: first + 50 * Self.second - 60 * Self.second, now: start, wallClock: wall) == .staleFreshness)
    #expect(replay.admit(nonce: nonce(7), sentAt: first + 50 * Self.second - 59 * Self.second, now: start, wallClock: wall) == nil)
    // From more than ten minutes in our future: refused even now.
    #expect(replay.admit(nonce: nonce(8), sentAt: wall + 601 * Self.second, now: start, wallClock: wall) == .outsideClockWindow)
    // A message hours older than our clock is fine once we follow the peer: only the order counts.
    #expect(replay.admit(nonce: nonce(9), sentAt: first + 51 * Self.second, now: start + .seconds(7200), wallClock: wall + 7200 * Self.second) == nil)
  }

  @Test("the sent_at memory is bounded: what it forgets counts as stale")
  func sentAtBound() {
    var configuration = ReplayGuard.Configuration()
    configuration.sentAtMemory = 10
    var replay = ReplayGuard(configuration: configuration)
    for index in 0..<50 {
      #expect(replay.admit(nonce: nil, sentAt: wall + UInt64(index) * 1000, now: start, wallClock: wall) == nil)
    }
    #expect(replay.rememberedSentAt == 10)
    // 39 was forgotten (and everything before it): stale; 41 is remembered: stale as a copy.
    #expect(replay.admit(nonce: nil, sentAt: wall + 39_000, now: start, wallClock: wall) == .staleFreshness)
    #expect(replay.admit(nonce: nil, sentAt: wall + 41_000, now: start, wallClock: wall) == .staleFreshness)
    #expect(replay.admit(nonce: nil, sentAt: wall + 40_500, now: start, wallClock: wall) == nil)
  }

  @Test("a session drops copies of a Warren peer's messages before they change anything, and counts them")
  func sessionDropsCopies() throws {
    let pair = SessionPair()
    pair.connectBoth()
    let session = pair.sessions[1]
    // Every message the controlling session sent carries a strictly increasing sent_at.
    let sent = pair.sent[0].map(\.message)
    let sentAt = sent.map(\.freshness.sentAt)
    #expect(sent.count >= 2 && sentAt == sentAt.sorted() && Set(sentAt).count == sentAt.count)
    #expect(sentAt.allSatisfy { $0 >= PeerSessionTests.epoch })
    // Delivered again: each is a copy (its sent_at was accepted), nothing happens.
    var copy = session
    for message in sent { copy.receive(message, now: pair.now) }
    #expect(copy.state == session.state && copy.restarts == 0)
    #expect(copy.droppedCounts[.staleFreshness] == sent.count)
    var actions: [PeerSession.Action] = []
    while let action = copy.pollAction() { actions.append(action) }
    #expect(actions == Array(repeating: .dropped(.staleFreshness), count: sent.count))
  }

  @Test("a session drops an envelope seen before by its nonce, a cunicu peer's message too")
  func sessionDropsSeenNonce() {
    let pair = SessionPair()
    pair.connectBoth()
    var session = pair.sessions[1]
    while session.pollAction() != nil {}
    var message = Cunicu_Signaling_Message()
    message.credentials.ufrag = "cunicuufrag"
    message.credentials.pwd = "cunicupasswordcunicupassword"
    let nonce = [UInt8](repeating: 7, count: 24)
    session.receive(message, nonce: nonce, now: pair.now)
    let restarts = session.restarts
    session.receive(message, nonce: nonce, now: pair.now)
    #expect(session.droppedCounts[.seenNonce] == 1 && session.restarts == restarts)
  }
}

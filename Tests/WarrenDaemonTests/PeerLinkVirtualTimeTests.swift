import Logging
import NIOCore
import NIOPosix
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenICENIO
import WarrenPrimitives
import WarrenSession
import WarrenSignaling
import WarrenTestSupport

/// The join of signaling, session and agent: two ``PeerLink``s over the in-process backend and
/// real loopback sockets, with every timer (the session's, the agents') on one manual clock. Time
/// moves only in ``VirtualTime/run(within:until:)``, 10 ms at a time once the sockets and tasks
/// have settled, so the 5-second consent timeouts cost no real time and no protocol timer is
/// waited for in real time.
@Suite("peer links in virtual time", .timeLimit(.scaled(minutes: 1)))
struct PeerLinkVirtualTimeTests {
  let clock = ManualClock()
  let factory = BackendFactory(logger: Logger(label: "test"))
  let alice = PrivateKey.generate()
  let bob = PrivateKey.generate()

  func link(_ ours: PrivateKey, to theirs: PrivateKey, name: String, forward: UInt16, gatherer: Gatherer? = nil) throws -> PeerLink {
    let loopback = TransportAddress.IP("127.0.0.1")!
    let options = PeerLink.Options(
      name: name, keys: KeyPair(ours: ours, theirs: theirs.publicKey), gatherer: gatherer ?? Gatherer(hostAddresses: [loopback]),
      listen: TransportAddress(ip: loopback, port: 0), forward: TransportAddress(ip: loopback, port: forward))
    return PeerLink(options: options, backend: try factory.makeBackend(url: "inprocess:"), logger: Logger(label: name), clock: clock)
  }

  @Test("connect, carry a datagram, follow a restarted peer, and restart once after the peer is gone")
  func connectRestartDisconnect() async throws {
    let time = VirtualTime(clock: clock)
    let application = try UDPSocket(port: 0)  // plays WireGuard on alice's side
    let delivered = try UDPSocket(port: 0)  // and on bob's
    let bobAtAlice = try link(alice, to: bob, name: "bob", forward: application.port)
    let states = Recorder()

    try await running(bobAtAlice, transitions: states) {
      // 1. Connect.
      let aliceAtBob = try link(bob, to: alice, name: "alice", forward: delivered.port)
      try await running(aliceAtBob) {
        let took = try await time.run(within: .seconds(5)) { bobAtAlice.isConnected && aliceAtBob.isConnected }
        print("connected after \(took) of virtual time")
        #expect(took < .seconds(2))

        // A datagram from alice's application reaches bob's, through both proxies.
        let listen = try #require(bobAtAlice.listenAddress)
        application.send([1, 2, 3], to: listen.port)
        let received = try await offThePool { delivered.receive(timeout: .seconds(5)) }
        #expect(received?.bytes == [1, 2, 3])
      }

      // 2. Bob's daemon restarts: a new link with new credentials. Alice follows with one restart,
      //    without being the side that starts over on its own.
      let restarted = try link(bob, to: alice, name: "alice", forward: delivered.port)
      try await running(restarted) {
        try await time.run(within: .seconds(5)) {
          bobAtAlice.status.restartCauses[.peerRestarted] == 1 && bobAtAlice.isConnected && restarted.isConnected
        }
        #expect(bobAtAlice.status.restartCauses == [.peerRestarted: 1])
        #expect(restarted.status.restarts == 0)
      }

      // 3. Bob is gone for good: consent lapses (Disconnected after 5 s), and after the restart
      //    timeout alice starts over once, then waits for bob with back-off.
      // Consent was last answered when the pair was selected, as the session became Connected.
      let lastAnswer = try #require(bobAtAlice.status.since)
      try await time.run(within: .seconds(30)) { bobAtAlice.status.restartCauses[.disconnected] == 1 }
      let restartedAfter = time.now - lastAnswer
      print("restarted \(restartedAfter) of virtual time after the last answer from the peer")
      // Disconnected 5 s after the last answer (disconnectedTimeout), the restart 5 s later
      // (restartTimeout), give or take the steps in which the last messages were in flight.
      #expect(restartedAfter >= .seconds(10) - VirtualTime.step * 3 && restartedAfter <= .seconds(10) + VirtualTime.step * 3)
      try await time.run(for: .seconds(20))
      #expect(bobAtAlice.status.restarts == 2)
    }
    let seen = states.states
    let disconnected = try #require(seen.lastIndex(of: .disconnected))
    #expect(seen[disconnected...].starts(with: [.disconnected, .closed, .idle]))
    #expect(seen.filter { $0 == .completed || $0 == .connected }.count == 2)
  }

  @Test("a STUN server and a TURN server that never answer delay neither side's candidates nor the connection")
  func deafServersDelayNothing() async throws {
    let time = VirtualTime(clock: clock)
    // Bound, never read: every Binding request and Allocate to it goes unanswered.
    let deaf = try UDPSocket(port: 0)
    var gatherer = Gatherer(hostAddresses: [TransportAddress.IP("127.0.0.1")!])
    gatherer.stunServers = [("127.0.0.1", deaf.port)]
    gatherer.turnServers = { [Gatherer.TURNServer(host: "127.0.0.1", port: deaf.port, username: "u", password: "p")] }
    let application = try UDPSocket(port: 0)
    let bobAtAlice = try link(alice, to: bob, name: "bob", forward: application.port, gatherer: gatherer)
    let aliceAtBob = try link(bob, to: alice, name: "alice", forward: application.port, gatherer: gatherer)
    try await running(bobAtAlice) {
      try await running(aliceAtBob) {
        // The STUN server costs 3 × 500 ms per host socket and the TURN server 5 s before either
        // is given up; the host candidates must not wait for them.
        let took = try await time.run(within: .seconds(10)) { bobAtAlice.isConnected && aliceAtBob.isConnected }
        print("connected after \(took) of virtual time, beside servers that never answer")
        #expect(took < .milliseconds(500))
      }
    }
  }

  /// Runs `link` while `body` runs, then stops and closes it; its transitions go to `transitions`.
  func running<T: Sendable>(_ link: PeerLink, transitions: Recorder? = nil, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await link.run() }
      if let transitions {
        group.addTask { for await transition in link.transitions { transitions.record(transition.to) } }
      }
      // Subscribing and binding take real time; virtual time must not run ahead of them.
      #expect(try await eventually { link.listenAddress != nil && link.status.state != .unknown })
      defer { group.cancelAll() }
      let result = try await body()
      group.cancelAll()
      await link.close()
      while let _ = try await group.next() {}
      return result
    }
  }
}

/// The states a session went through.
final class Recorder: Sendable {
  private let recorded = Locked<[SessionState]>([])
  var states: [SessionState] { recorded.withLock { $0 } }
  func record(_ state: SessionState) { recorded.withLock { $0.append(state) } }
}

extension PeerLink {
  var isConnected: Bool { status.state == .connected || status.state == .completed }
}

/// Moves a manual clock on in 10 ms steps, letting the sockets and tasks settle before each.
struct VirtualTime {
  let clock: ManualClock
  static let step: Duration = .milliseconds(10)

  var now: ContinuousClock.Instant { clock.now }

  /// Advances until `condition` holds, at most `limit` of virtual time (an expectation fails
  /// beyond); returns the virtual time it took.
  @discardableResult
  func run(within limit: Duration, until condition: () -> Bool) async throws -> Duration {
    let start = clock.now
    while !condition() {
      guard clock.now - start < limit else {
        Issue.record("still waiting after \(limit) of virtual time")
        return limit
      }
      await settle()
      clock.advance(by: Self.step)
    }
    return clock.now - start
  }

  /// Advances by `duration`.
  func run(for duration: Duration) async throws {
    let end = clock.now + duration
    while clock.now < end {
      await settle()
      clock.advance(by: Self.step)
    }
    await settle()
  }

  /// Lets every event loop run what it has queued (datagrams read, timers fired) and every task
  /// take its turn, twice over, so that what one side sent has reached the other.
  private func settle() async {
    for _ in 0..<2 {
      for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() { try? await loop.submit {}.get() }
      for _ in 0..<8 { await Task.yield() }
    }
  }
}

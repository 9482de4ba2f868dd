import Synchronization
import Testing
import WarrenCrypto
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

@Suite("Multi-backend", .timeLimit(.scaled(minutes: 1)))
struct MultiBackendTests {
  let alice = peer(1)
  let bob = peer(2)

  @Test("a message published on two backends reaches the handler twice")
  func deliversTwice() async throws {
    let hubs = [InProcessHub(), InProcessHub()]
    let a = backend(on: hubs)
    let b = backend(on: hubs)
    #expect(a.type == .multi)
    var inbox = Inbox(try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)))
    try await a.publish(credentials("twice"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await inbox.next()?.message == credentials("twice"))
    #expect(await inbox.next()?.message == credentials("twice"))
    #expect(b.registry.counters.delivered == 2)
  }

  @Test("publishing succeeds through the backend that works; it fails only when every backend fails")
  func publishSurvivesAFailure() async throws {
    let hub = InProcessHub()
    let a = backend(on: [hub], extra: [FailingTransport()])
    let b = backend(on: [hub])
    var inbox = Inbox(try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)))
    try await a.publish(credentials("still"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await inbox.next()?.message == credentials("still"))

    let broken = backend(on: [], extra: [FailingTransport(), FailingTransport()])
    await #expect {
      try await broken.publish(credentials("lost"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    } throws: { error in
      guard let error = error as? SignalingError else { return false }
      return error.code == .publishFailed && error.causes.count == 2 && error.message.contains("failed on every backend")
        && error.message.contains("unreachable (test)")
    }
  }

  @Test("a backend that never answers (a gRPC server that is down) holds up neither subscribing nor publishing")
  func hangingBackend() async throws {
    let hub = InProcessHub()
    let b = backend(on: [hub], extra: [HangingTransport()])
    var inbox = Inbox(try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)))
    let a = backend(on: [hub], extra: [HangingTransport()])
    try await a.publish(credentials("through"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await inbox.next()?.message == credentials("through"))
    // What still hangs there ends with the backends, not with the process (LeakSanitizer).
    await a.close()
    await b.close()
  }

  @Test("closing ends what still runs on a hanging backend, and waits for it")
  func closeEndsHangingOperations() async throws {
    let hanging = HangingTransport()
    let a = backend(on: [InProcessHub()], extra: [hanging])
    try await a.publish(credentials("one"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    try await a.publish(credentials("two"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    // Both publishes still hang there (they may take a moment to get there).
    for _ in 0..<1000 where hanging.hanging.load(ordering: .relaxed) < 2 { await Task.yield() }
    #expect(hanging.hanging.load(ordering: .relaxed) == 2)
    await a.close()
    #expect(hanging.hanging.load(ordering: .relaxed) == 0)
  }

  @Test("subscribing succeeds while one backend works, and fails when none does")
  func subscribeSurvivesAFailure() async throws {
    let hub = InProcessHub()
    let b = backend(on: [hub], extra: [FailingTransport()])
    var inbox = Inbox(try await b.subscribeAll(bob))
    try await backend(on: [hub]).publish(credentials("hi"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await inbox.next()?.message == credentials("hi"))

    let broken = backend(on: [], extra: [FailingTransport(), FailingTransport()])
    await #expect { try await broken.subscribeAll(bob) } throws: {
      ($0 as? SignalingError)?.code == .subscribeFailed
    }
    #expect(broken.registry.localKeys.isEmpty)
  }
}

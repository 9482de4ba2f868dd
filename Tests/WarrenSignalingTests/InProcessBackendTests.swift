import Testing
import WarrenCrypto
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

@Suite("In-process backend", .timeLimit(.scaled(minutes: 1)))
struct InProcessBackendTests {
  let factory = BackendFactory(logger: testLogger)
  let alice = peer(1)
  let bob = peer(2)

  @Test("two peers exchange messages both ways, with authenticated senders")
  func exchange() async throws {
    let a = try factory.makeBackend(url: "inprocess:")
    let b = try factory.makeBackend(url: "inprocess:")
    #expect(a.type == .inprocess)
    var aliceInbox = Inbox(try await a.subscribe(KeyPair(ours: alice, theirs: bob.publicKey)))
    var bobInbox = Inbox(try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)))

    try await a.publish(credentials("from-alice"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    try await b.publish(credentials("from-bob"), keys: KeyPair(ours: bob, theirs: alice.publicKey))

    let atBob = await bobInbox.next()
    #expect(atBob?.sender == alice.publicKey)
    #expect(atBob?.recipient == bob.publicKey)
    #expect(atBob?.message == credentials("from-alice"))
    let atAlice = await aliceInbox.next()
    #expect(atAlice?.sender == bob.publicKey)
    #expect(atAlice?.message == credentials("from-bob"))
  }

  @Test("a subscription to one sender sees only that sender; subscribe-all sees every sender")
  func subscribeAll() async throws {
    let b = try factory.makeBackend(url: "inprocess:")
    let senders = [alice, peer(3), peer(4)]
    var all = Inbox(try await b.subscribeAll(bob))
    var onlyAlice = Inbox(try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)))
    let a = try factory.makeBackend(url: "inprocess:")
    for sender in senders {
      try await a.publish(credentials("\(sender.publicKey)"), keys: KeyPair(ours: sender, theirs: bob.publicKey))
    }
    var seen: [Key] = []
    for _ in senders { seen.append(await all.next()!.sender) }
    #expect(Set(seen) == Set(senders.map(\.publicKey)))
    #expect(await onlyAlice.next()?.sender == alice.publicKey)
    #expect(b.registry.counters.delivered == 3)
    // Only Alice's message reached that subscription: ending it leaves nothing else behind.
    await b.close()
    #expect(await onlyAlice.next() == nil)
  }

  @Test("after unsubscribing nothing more arrives, and the hub forgets the key")
  func unsubscribe() async throws {
    let a = try factory.makeBackend(url: "inprocess:")
    let b = try factory.makeBackend(url: "inprocess:")
    let keys = KeyPair(ours: alice, theirs: bob.publicKey)
    let subscription = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey))
    var inbox = Inbox(subscription)
    try await a.publish(credentials("before"), keys: keys)
    #expect(await inbox.next()?.message == credentials("before"))
    #expect(factory.hub.subscribedKeys == [bob.publicKey])

    subscription.cancel()
    #expect(factory.hub.subscribedKeys.isEmpty)
    try await a.publish(credentials("after"), keys: keys)
    #expect(await inbox.next() == nil)
    #expect(factory.hub.droppedEnvelopes == 1)
  }

  @Test("the hub keeps a key while any subscription of it lives")
  func sharedKey() async throws {
    let b = try factory.makeBackend(url: "inprocess:")
    let first = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey))
    let second = try await b.subscribeAll(bob)
    first.cancel()
    #expect(factory.hub.subscribedKeys == [bob.publicKey])
    second.cancel()
    #expect(factory.hub.subscribedKeys.isEmpty)
  }

  @Test("after close every call fails with 'closed' and subscriptions end")
  func close() async throws {
    let b = try factory.makeBackend(url: "inprocess:")
    var inbox = Inbox(try await b.subscribeAll(bob))
    await b.close()
    #expect(await inbox.next() == nil)
    #expect(factory.hub.subscribedKeys.isEmpty)
    await #expect { try await b.publish(credentials("x"), keys: KeyPair(ours: bob, theirs: alice.publicKey)) }
      throws: { ($0 as? SignalingError)?.code == .closed }
    await #expect { try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)) }
      throws: { ($0 as? SignalingError)?.code == .closed }
    await #expect { try await b.subscribeAll(bob) } throws: { ($0 as? SignalingError)?.code == .closed }
    await b.close()  // closing twice is harmless
  }

  @Test("separate hubs do not see each other")
  func separateHubs() async throws {
    let other = BackendFactory(logger: testLogger)
    let a = try factory.makeBackend(url: "inprocess:")
    let b = try other.makeBackend(url: "inprocess:")
    var inbox = Inbox(try await b.subscribeAll(bob))
    try await a.publish(credentials("lost"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(factory.hub.droppedEnvelopes == 1)
    await b.close()
    #expect(await inbox.next() == nil)
  }
}

import Testing
import WarrenCrypto
import WarrenTestSupport
import WarrenSignalServer
import WarrenWire

@Suite("Signaling relay (server core)", .timeLimit(.scaled(minutes: 1)))
struct SignalingRelayTests {
  let key = try! Key(bytes: [UInt8](repeating: 1, count: 32))
  let other = try! Key(bytes: [UInt8](repeating: 2, count: 32))

  func envelope(_ n: Int) -> Cunicu_Signaling_Envelope {
    var envelope = Cunicu_Signaling_Envelope()
    envelope.contents.nonce = .init([UInt8](repeating: UInt8(n % 256), count: 24))
    return envelope
  }

  @Test("a topic exists exactly while it has subscribers")
  func topicLifetime() async {
    let relay = SignalingRelay()
    #expect(relay.statistics.topics == 0)
    do {
      let first = relay.subscribe(key)
      let second = relay.subscribe(key)
      #expect(relay.statistics.topics == 1)
      #expect(relay.statistics.subscriptions == 2)
      withExtendedLifetime(second) {}
      withExtendedLifetime(first) {}
    }
    // Both queues are gone: the topic went with its last subscription.
    #expect(relay.statistics.subscriptions == 0)
    #expect(relay.statistics.topics == 0)
    let third = relay.subscribe(other)
    relay.finishAll()
    withExtendedLifetime(third) {}
    #expect(relay.statistics.topics == 0)
  }

  @Test("every subscription of a key receives every envelope; other keys receive none")
  func fanOut() async {
    let relay = SignalingRelay()
    var a = relay.subscribe(key).envelopes.makeAsyncIterator()
    var b = relay.subscribe(key).envelopes.makeAsyncIterator()
    var c = relay.subscribe(other).envelopes.makeAsyncIterator()
    #expect(relay.publish(envelope(1), to: key, size: 10) == 2)
    #expect(await a.next() == envelope(1))
    #expect(await b.next() == envelope(1))
    relay.finishAll()
    #expect(await c.next() == nil)
    #expect(relay.statistics.published == 1)
    #expect(relay.statistics.queued == 2)
  }

  @Test("publishing to nobody is dropped and counted")
  func nobody() {
    let relay = SignalingRelay()
    #expect(relay.publish(envelope(1), to: key, size: 10) == 0)
    #expect(relay.statistics.droppedNoSubscriber == 1)
    #expect(relay.statistics.topics == 0)
  }

  @Test("a subscriber that does not read keeps only the newest envelopes, up to its limit")
  func slowSubscriber() async {
    let relay = SignalingRelay(queueLimit: 3)
    let slow = relay.subscribe(key)
    for n in 0..<10 { relay.publish(envelope(n), to: key, size: 10) }
    #expect(relay.statistics.droppedQueueFull == 7)
    relay.finishAll()
    var received: [Cunicu_Signaling_Envelope] = []
    for await envelope in slow.envelopes { received.append(envelope) }
    #expect(received == [envelope(7), envelope(8), envelope(9)])
  }

  @Test("an envelope from another replica reaches the subscribers here, and counts as neither published nor dropped")
  func fromCluster() async {
    let relay = SignalingRelay()
    var a = relay.subscribe(key).envelopes.makeAsyncIterator()
    #expect(relay.deliverFromCluster(envelope(1), to: key) == 1)
    #expect(await a.next() == envelope(1))
    // Every replica but the subscriber's hears it: nobody here is the normal case, not a drop.
    #expect(relay.deliverFromCluster(envelope(2), to: other) == 0)
    let statistics = relay.statistics
    #expect(statistics.fromCluster == 1 && statistics.published == 0 && statistics.droppedNoSubscriber == 0)
    #expect(statistics.queued == 1)
    relay.finishAll()
  }
}

@Suite("Relay URLs and TURN REST credentials")
struct RelayURLTests {
  @Test("parse and publish without secrets", arguments: [
    ("stun:127.0.0.1:3478", "stun:127.0.0.1:3478", RelayURL.Credentials.none),
    ("turn:alice:wonder@turn.example:3478?transport=tcp", "turn:turn.example:3478?transport=tcp",
     .static(username: "alice", password: "wonder")),
    ("turns:[2001:db8::1]:5349?secret=s3cret&ttl=90m", "turns:[2001:db8::1]:5349", .shared(secret: "s3cret", ttl: 5400)),
    ("turn:relay.example?secret=x", "turn:relay.example", .shared(secret: "x", ttl: 3600)),
  ])
  func parse(text: String, published: String, credentials: RelayURL.Credentials) throws {
    let url = try RelayURL(text)
    #expect(url.publicURL == published)
    #expect(url.credentials == credentials)
  }

  @Test("bad relay URLs say what is wrong", arguments: [
    ("http://x", "expected stun:, stuns:, turn: or turns:"),
    ("turn://h", "no '//'"),
    ("turn:h:99999", "port"),
    ("stun:h?secret=x", "only applies to turn"),
    ("turn:u:p@h?secret=x", "not both"),
    ("turn:h?ttl=soon&secret=x", "ttl must be"),
    ("turn:h?transport=sctp", "transport must be udp or tcp"),
    ("turn:h?color=red", "unknown parameter 'color' (known: secret, transport, ttl)"),
  ])
  func errors(text: String, reason: String) {
    #expect { try RelayURL(text) } throws: { "\($0)".contains(reason) }
  }
}

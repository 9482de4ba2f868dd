import Foundation
import Testing
import WarrenCrypto
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

@Suite("Subscription registry", .timeLimit(.scaled(minutes: 1)))
struct SubscriptionRegistryTests {
  let alice = peer(1)
  let bob = peer(2)
  let sealer = EnvelopeSealer()

  @Test("bad envelopes are dropped and counted, and never disturb other deliveries")
  func badInput() async throws {
    let hub = InProcessHub()
    let b = backend(on: [hub])
    var inbox = Inbox(try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)))
    let good = try sealer.seal(credentials("good"), keys: KeyPair(ours: alice, theirs: bob.publicKey))

    var garbageBody = good
    garbageBody.contents.body = Data([1, 2, 3])
    var shortNonce = good
    shortNonce.contents.nonce = Data([0])
    var shortSender = good
    shortSender.sender = Data([9])
    var unknownRecipient = good
    unknownRecipient.recipient = Data(peer(9).publicKey.bytes)
    let fromStranger = try sealer.seal(credentials("stranger"), keys: KeyPair(ours: peer(5), theirs: bob.publicKey))

    for envelope in [garbageBody, shortNonce, shortSender, unknownRecipient, Cunicu_Signaling_Envelope(), fromStranger, good] {
      b.registry.deliver(envelope)
    }
    #expect(await inbox.next()?.message == credentials("good"))
    let counters = b.registry.counters
    #expect(counters.delivered == 1)
    #expect(counters.droppedUnopenable == 3)
    #expect(counters.droppedUnknownRecipient == 2)
    #expect(counters.droppedNoSubscriber == 1)
  }

  @Test("a subscriber that does not read keeps a bounded buffer; the rest is counted")
  func overflow() async throws {
    let b = backend(on: [InProcessHub()], bufferLimit: 4)
    let slow = try await b.subscribeAll(bob)
    var fast = Inbox(try await b.subscribeAll(bob))
    for index in 0..<10 {
      b.registry.deliver(try sealer.seal(credentials("\(index)"), keys: KeyPair(ours: alice, theirs: bob.publicKey)))
      #expect(await fast.next()?.message == credentials("\(index)"))
    }
    #expect(b.registry.counters.droppedOverflow == 6)
    var slowInbox = Inbox(slow)
    for index in 0..<4 { #expect(await slowInbox.next()?.message == credentials("\(index)")) }
  }
}

@Suite("Backend factory")
struct BackendFactoryTests {
  let factory = BackendFactory(logger: testLogger)

  @Test("unknown schemes and malformed URLs are clear errors", arguments: [
    ("carrier-pigeon://coop", SignalingError.Code.unknownScheme, "no signaling backend for scheme 'carrier-pigeon'"),
    ("no scheme here", .invalidURL, "is not a backend URL"),
    ("inprocess:?color=blue", .invalidURL, "unknown parameter color"),
  ])
  func errors(url: String, code: SignalingError.Code, message: String) {
    do {
      _ = try factory.makeBackend(url: url)
      Issue.record("built a backend for \(url)")
    } catch let error as SignalingError {
      #expect(error.code == code)
      #expect(error.message.contains(message), "\(error.message)")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("one URL makes that backend, several make a multi-backend, none is an error")
  func shapes() throws {
    #expect(try factory.makeBackend(url: "inprocess:").type == .inprocess)
    #expect(try factory.makeBackend(url: "INPROCESS:").type == .inprocess)
    #expect(try factory.makeBackend(urls: ["inprocess:", "inprocess:"]).type == .multi)
    #expect(throws: SignalingError.self) { try factory.makeBackend(urls: []) }
  }

  @Test("URL parts and flags", arguments: [
    ("grpc://[::1]:8080?insecure=true&skip_verify", "grpc", "::1", 8080, true, true),
    ("grpc://signal.example:443", "grpc", "signal.example", 443, false, false),
    ("grpc://127.0.0.1:0?insecure=0", "grpc", "127.0.0.1", 0, false, false),
  ])
  func urlParts(text: String, scheme: String, host: String, port: Int, insecure: Bool, skipVerify: Bool) throws {
    let url = try BackendURL(text)
    #expect(url.scheme == scheme)
    #expect(url.host == host)
    #expect(url.port == port)
    #expect(try url.flag("insecure") == insecure)
    #expect(try url.flag("skip_verify") == skipVerify)
  }

  @Test("a flag that is not a boolean names the parameter")
  func badFlag() throws {
    let url = try BackendURL("grpc://h:1?insecure=maybe")
    #expect { try url.flag("insecure") } throws: {
      ($0 as? SignalingError)?.message.contains("parameter 'insecure'") == true
    }
  }
}

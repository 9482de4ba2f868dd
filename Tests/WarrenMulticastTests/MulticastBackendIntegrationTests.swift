import Foundation
import Logging
import Testing
import WarrenCrypto
import WarrenMulticast
import WarrenSignaling
import WarrenWire
import WarrenTestSupport

/// Several multicast backends in one process on the loopback interface (IP_MULTICAST_IF
/// 127.0.0.1, loopback on): nothing leaves the machine. A message that never arrives fails the
/// test at the suite's time limit.
@Suite("Multicast backend on loopback (integration)", .timeLimit(.scaled(minutes: 1)))
struct MulticastBackendTests {
  var factory: BackendFactory {
    var factory = BackendFactory(logger: Logger(label: "warren.test"))
    factory.registerMulticast()
    return factory
  }
  let alice = key(1), bob = key(2), carol = key(3)

  static func key(_ n: UInt8) -> PrivateKey { PrivateKey(try! Key(bytes: [UInt8](repeating: n, count: 31) + [0x40])) }

  /// A group and port of our own for each test, so that parallel tests never see each other.
  /// The port is below Linux's ephemeral range (32768–60999): a socket another test bound to port
  /// 0 is never there (a fresh-clone CI run once failed with EADDRINUSE when it was).
  static func url(_ extra: String = "") -> String {
    let port = Int.random(in: 20000...32767)
    return "multicast://239.255.\(Int.random(in: 1...254)).\(Int.random(in: 1...254)):\(port)?interface=lo&loopback=true\(extra)"
  }

  func message(_ ufrag: String) -> Cunicu_Signaling_Message {
    var message = Cunicu_Signaling_Message()
    message.credentials.ufrag = ufrag
    return message
  }

  @Test("three peers on one group: sealed messages reach their recipient only")
  func exchange() async throws {
    let url = Self.url()
    let a = try factory.makeBackend(url: url), b = try factory.makeBackend(url: url), c = try factory.makeBackend(url: url)
    #expect(a.type == .mcast)
    var atBob = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    var atCarol = try await c.subscribeAll(carol).makeAsyncIterator()
    try await a.publish(message("to-bob"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    try await a.publish(message("to-carol"), keys: KeyPair(ours: alice, theirs: carol.publicKey))
    let received = await atBob.next()
    #expect(received?.message == message("to-bob") && received?.sender == alice.publicKey)
    let toCarol = await atCarol.next()
    #expect(toCarol?.message == message("to-carol"))
    await a.close(); await b.close(); await c.close()
  }

  @Test("an oversized envelope is refused at publish with the limit in the error")
  func tooLarge() async throws {
    let a = try factory.makeBackend(url: Self.url("&max_size=256"))
    var big = Cunicu_Signaling_Message()
    big.credentials.ufrag = String(repeating: "x", count: 400)
    await #expect { try await a.publish(big, keys: KeyPair(ours: alice, theirs: bob.publicKey)) } throws: {
      "\($0)".contains("over the multicast backend's maximum of 256")
    }
    await a.close()
  }

  @Test("garbage on the group is counted and dropped; the peers keep exchanging")
  func garbage() async throws {
    let url = Self.url()
    let parsed = try BackendURL(url)
    let sink = CountingSink()
    let transport = try MulticastTransport(url: parsed, sink: sink, logger: Logger(label: "warren.test"))
    try await transport.subscribe(bob)
    let b = try factory.makeBackend(url: url)
    var atBob = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    // Raw datagrams from a plain socket: not envelopes.
    let socket = try UDPSender(group: parsed.host, port: parsed.port!)
    for _ in 0..<20 { socket.send([0xff, 0x00, 0x13, 0x37]) }
    let a = try factory.makeBackend(url: url)
    try await a.publish(message("still-works"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await atBob.next()?.message == message("still-works"))
    _ = try await eventually(within: .seconds(2)) { transport.undecodableCount >= 20 && sink.count >= 1 }
    #expect(transport.undecodableCount == 20)
    #expect(sink.count == 1)  // only the envelope for bob
    socket.close()
    await transport.close(); await a.close(); await b.close()
  }

  @Test("bad URLs are refused with the reason", arguments: [
    ("multicast://239.0.0.1", "needs a port"),
    ("multicast://10.0.0.1:9999", "not a multicast group"),
    ("multicast://239.0.0.1:9999?colour=red", "unknown parameter colour"),
    ("multicast://239.0.0.1:9999?max_size=10", "max_size must be 64-65507"),
    ("multicast://239.0.0.1:9999?loopback=maybe", "must be true or false"),
  ])
  func badURLs(url: String, reason: String) {
    #expect { _ = try factory.makeBackend(url: url) } throws: { "\($0)".contains(reason) }
  }

  @Test("an interface that does not exist is an error at subscribe, naming it")
  func missingInterface() async throws {
    let a = try factory.makeBackend(url: "multicast://239.255.9.9:40999?interface=nonexistent0")
    await #expect { _ = try await a.subscribe(KeyPair(ours: alice, theirs: bob.publicKey)) } throws: { "\($0)".contains("nonexistent0") }
    await a.close()
  }
}

final class CountingSink: EnvelopeSink, @unchecked Sendable {
  private let lock = NSLock()
  private var delivered = 0
  var count: Int { lock.withLock { delivered } }
  func deliver(_ envelope: Cunicu_Signaling_Envelope) { lock.withLock { delivered += 1 } }
}

/// A plain socket sending to the group over loopback.
final class UDPSender {
  let descriptor: Int32
  let address: sockaddr_in

  init(group: String, port: Int) throws {
    descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    var loopback = in_addr(s_addr: inet_addr("127.0.0.1"))
    setsockopt(descriptor, Int32(IPPROTO_IP), IP_MULTICAST_IF, &loopback, socklen_t(MemoryLayout<in_addr>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr(group)
    self.address = address
  }

  func send(_ bytes: [UInt8]) {
    var destination = address
    _ = bytes.withUnsafeBytes { buffer in
      withUnsafePointer(to: &destination) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(descriptor, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
  }

  func close() { Glibc.close(descriptor) }
}

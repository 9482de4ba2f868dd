import Foundation
import Logging
import NIOCore
import Testing
import WarrenICE
import WarrenICENIO
import WarrenPrimitives
import WarrenTestSupport

/// Relay candidates against a real TURN server (coturn, started by Interop/turn/run.sh on
/// `$WARREN_TURN_SERVER` with the credentials in `$WARREN_TURN_USERNAME`/`$WARREN_TURN_PASSWORD`).
/// One agent uses its relayed address only, so every check and datagram crosses the allocation.
@Suite("TURN relay against coturn (interop)", .enabled(if: ProcessInfo.processInfo.environment["WARREN_TURN_SERVER"] != nil))
struct TURNServerInteropTests {
  let environment = ProcessInfo.processInfo.environment

  var server: TransportAddress {
    TransportAddress(parsing: environment["WARREN_TURN_SERVER"]!)!
  }

  /// `$WARREN_TURN_TRANSPORT`: udp (default), tcp, or tls (the test server's certificate is
  /// self-signed, so it is not verified).
  var transport: RelayTransport {
    switch environment["WARREN_TURN_TRANSPORT"] {
    case "tcp": .tcp
    case "tls": .tls(serverName: "turn.warren.test", verify: false)
    default: .udp
    }
  }

  @Test("allocate, connect over the relay, and carry datagrams both ways", .timeLimit(.scaled(minutes: 1)))
  func relay() async throws {
    var random = SystemRandomNumberGenerator()
    let credentials = (ICECredentials.random(using: &random), ICECredentials.random(using: &random))
    var relayOnly = ICEConfiguration()
    relayOnly.relayOnly = true
    let logger = Logger(label: "warren.interop.turn")
    let inboxA = Inbox(), inboxB = Inbox()
    let a = ICEDriver(
      agent: ICEAgent(role: .controlling, localCredentials: credentials.0, configuration: relayOnly, seed: 1), logger: logger,
      onData: { inboxA.append(Array($0.readableBytesView)) })
    let b = ICEDriver(
      agent: ICEAgent(role: .controlled, localCredentials: credentials.1, seed: 2), logger: logger, onData: { inboxB.append(Array($0.readableBytesView)) })
    let loopback = TransportAddress.IP("127.0.0.1")!
    _ = try await a.bindHostCandidates([loopback])
    let hostB = try await b.bindHostCandidates([loopback])
    let relayed = try #require(
      await a.gatherRelay(
        server: server, username: environment["WARREN_TURN_USERNAME"] ?? "", password: environment["WARREN_TURN_PASSWORD"] ?? "",
        transport: transport))
    #expect(relayed.type == .relay && relayed.address != server)
    print("turn-relay: coturn allocated \(relayed.address) over \(transport)")

    a.setRemoteCredentials(credentials.1)
    b.setRemoteCredentials(credentials.0)
    for candidate in hostB { a.addRemoteCandidate(candidate) }
    b.addRemoteCandidate(relayed)

    let started = ContinuousClock.now
    async let pairA = firstSelectedPair(a)
    async let pairB = firstSelectedPair(b)
    let (selectedA, selectedB) = try await (pairA, pairB)
    #expect(selectedA.local.type == .relay && selectedA.local.address == relayed.address)
    #expect(selectedB.remote.address == relayed.address)
    print("turn-relay: connected through the relay in \(ContinuousClock.now - started)")

    // Datagrams both ways through the allocation (ChannelData once the channel is bound).
    for round in 0..<50 where inboxB.count < 3 || inboxA.count < 3 {
      a.send(Array("through turn \(round)".utf8))
      b.send(Array("back through turn \(round)".utf8))
      try await Task.sleep(for: .milliseconds(20))
    }
    let toB = inboxB.all, toA = inboxA.all
    #expect(toB.first.map { String(decoding: $0, as: UTF8.self).hasPrefix("through turn") } == true)
    #expect(toB.count >= 3 && toA.count >= 3)
    print("turn-relay: \(toB.count) datagrams to B and \(toA.count) to A through coturn")

    // A burst each way once the channel is bound (one round trip after the pair was selected):
    // A's leaves as one train of ChannelData, and what is relayed back reaches A as slices of
    // the datagrams read; every datagram arrives, in order, byte for byte.
    try await Task.sleep(for: .milliseconds(200))
    let (beforeA, beforeB) = (inboxA.count, inboxB.count)
    let burst = (0..<16).map { n in [UInt8](repeating: UInt8(n), count: 1200) }
    for datagram in burst {
      a.send(ByteBuffer(bytes: datagram))
      b.send(ByteBuffer(bytes: datagram))
    }
    a.flush()
    b.flush()
    _ = try await eventually(within: .seconds(1), every: .milliseconds(10)) { inboxA.count >= beforeA + 16 && inboxB.count >= beforeB + 16 }
    for (name, received) in [("B", Array(inboxB.all.dropFirst(beforeB))), ("A", Array(inboxA.all.dropFirst(beforeA)))] {
      let intact = received == burst
      #expect(intact, "\(name) got \(received.count) of 16 datagrams; first bytes \(received.map { $0.first ?? 0 }), sizes \(received.map(\.count))")
    }
    await a.close()
    await b.close()
  }

  @Test("wrong credentials give no candidate and a clear log line, not a hang", .timeLimit(.scaled(minutes: 1)))
  func wrongPassword() async throws {
    var random = SystemRandomNumberGenerator()
    let driver = ICEDriver(
      agent: ICEAgent(role: .controlling, localCredentials: .random(using: &random), seed: 3), logger: Logger(label: "warren.interop.turn"))
    _ = try await driver.bindHostCandidates([TransportAddress.IP("127.0.0.1")!])
    let started = ContinuousClock.now
    let candidate = await driver.gatherRelay(
      server: server, username: environment["WARREN_TURN_USERNAME"] ?? "", password: "not-the-password", transport: transport)
    #expect(candidate == nil)
    #expect(ContinuousClock.now - started < .seconds(3))  // refused, not timed out
    await driver.close()
  }

  private func firstSelectedPair(_ driver: ICEDriver) async throws -> CandidatePair {
    for await event in driver.events {
      if case .selectedPairChanged(let pair) = event { return pair }
    }
    throw CancellationError()
  }
}

/// Datagrams a driver handed over, collected across its event loop.
final class Inbox: Sendable {
  private let datagrams = Locked<[[UInt8]]>([])
  func append(_ bytes: [UInt8]) { datagrams.withLock { $0.append(bytes) } }
  var all: [[UInt8]] { datagrams.withLock { $0 } }
  var count: Int { datagrams.withLock { $0.count } }
}

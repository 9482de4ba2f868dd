import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import WarrenCrypto
import WarrenWire
import WarrenWireGRPC

/// What a proof of key possession costs `warren signal` (see subscribe-proofs.sh):
///
///   SubscribeProofs PORT [SUBSCRIBES_PER_ROUND]
///
/// Rounds alternate without and with a proof against the same server. In a round, 64 callers on 4
/// fresh connections each open Subscribe streams one after the other, each for a key of its own,
/// and wait for the marker before opening the next; the streams stay open until the round ends
/// (as a daemon's do: a client that ends streams as fast as it opens them trips HTTP/2's rapid
/// reset protection instead). Proofs are made before the round, so the client's own X25519 is not
/// in the figure; the server does one X25519 per proven Subscribe.
@main
struct SubscribeProofs {
  static let connections = 4
  static let callers = 64
  static let rounds = 3

  static func main() async throws {
    let arguments = CommandLine.arguments
    guard arguments.count >= 2, let port = Int(arguments[1]) else {
      print("usage: SubscribeProofs PORT [SUBSCRIBES_PER_ROUND]")
      exit(2)
    }
    let perRound = arguments.count > 2 ? Int(arguments[2])! : 4096
    let perCaller = max(1, perRound / callers)
    let serverKey = try await withGRPCClient(
      transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
    ) { client in
      try await Cunicu_Signaling_Signaling.Client(wrapping: client).getBuildInfo(Cunicu_Empty()) { response in
        _ = try response.message
        return try Key(base64: response.metadata[stringValues: KeyPossessionProof.serverKeyMetadataKey].first(where: { _ in true }) ?? "")
      }
    }
    var plain: [Measurement] = [], proven: [Measurement] = []
    for _ in 0..<rounds {
      let keys = (0..<callers).map { _ in (0..<perCaller).map { _ in PrivateKey.generate() } }
      plain.append(try await measure(port: port, keys: keys, proofs: nil))
      let keys2 = (0..<callers).map { _ in (0..<perCaller).map { _ in PrivateKey.generate() } }
      let now = UInt64(Date().timeIntervalSince1970 * 1000)
      let proofs = try keys2.map { keys in
        try keys.map { try KeyPossessionProof.make(client: $0, server: serverKey, purpose: .subscribe, unixMilliseconds: now) }
      }
      proven.append(try await measure(port: port, keys: keys2, proofs: proofs))
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    func line(_ label: String, _ rounds: [Measurement]) -> String {
      String(
        format: "%@ %.0f subscribes/s (rounds: %@), time to marker p50 %.2f ms, p99 %.2f ms", label,
        median(rounds.map(\.perSecond)), rounds.map { String(format: "%.0f", $0.perSecond) }.joined(separator: " "),
        median(rounds.map(\.p50)), median(rounds.map(\.p99)))
    }
    print("\(callers * perCaller) subscribes per round, \(callers) callers on \(connections) connections")
    print(line("without proof:", plain))
    print(line("with proof:   ", proven))
    print(String(format: "ratio with ÷ without: %.2f (rate), %.2f (p50 time to marker)",
                 median(proven.map(\.perSecond)) / median(plain.map(\.perSecond)),
                 median(proven.map(\.p50)) / median(plain.map(\.p50))))
  }

  struct Measurement {
    let count: Int
    let elapsed: Double
    let p50: Double
    let p99: Double
    var perSecond: Double { Double(count) / elapsed }
  }

  /// One round: every caller subscribes its keys in turn, each stream kept open until the end.
  static func measure(port: Int, keys: [[PrivateKey]], proofs: [[[UInt8]]]?) async throws -> Measurement {
    let clients = (0..<connections).map { _ in
      GRPCClient(
        transport: try! HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
    }
    return try await withThrowingTaskGroup(of: Void.self) { running in
      for client in clients { running.addTask { try await client.runConnections() } }
      let stubs = clients.map { Cunicu_Signaling_Signaling.Client(wrapping: $0) }
      let start = ContinuousClock.now
      // Streams are ended only once every caller is done: a caller that ended its own while
      // others still subscribe would send a burst of RST_STREAMs, which HTTP/2's rapid reset
      // protection answers by closing the connection under the others.
      let collector = Collector()
      try await withThrowingTaskGroup(of: Void.self) { callers in
        for caller in keys.indices {
          callers.addTask {
            try await withThrowingTaskGroup(of: Void.self) { streams in
              var latencies: [Double] = []
              for (index, key) in keys[caller].enumerated() {
                var request = Cunicu_Signaling_SubscribeParams()
                request.key = Data(key.publicKey.bytes)
                var metadata = Metadata()
                if let proofs { metadata.addBinary(proofs[caller][index], forKey: KeyPossessionProof.metadataKey) }
                let (marker, markerSink) = AsyncStream.makeStream(of: Void.self)
                let began = ContinuousClock.now
                streams.addTask {
                  var options = CallOptions.defaults
                  options.waitForReady = true
                  do {
                    try await stubs[caller % connections].subscribe(request, metadata: metadata, options: options) { response in
                      for try await _ in response.messages { markerSink.yield() }
                    }
                  } catch {
                    if !Task.isCancelled { FileHandle.standardError.write("Subscribe failed: \(error)\n".data(using: .utf8)!) }
                  }
                  markerSink.finish()
                }
                var got = false
                for await _ in marker {
                  got = true
                  break
                }
                guard got else { throw RPCError(code: .unavailable, message: "a Subscribe ended without its marker") }
                let took = (ContinuousClock.now - began).components
                latencies.append(Double(took.seconds) * 1e3 + Double(took.attoseconds) / 1e15)
              }
              collector.report(latencies, finished: ContinuousClock.now)
              try await streams.waitForAll()
            }
          }
        }
        while collector.reports < keys.count { try await Task.sleep(for: .milliseconds(10)) }
        callers.cancelAll()
      }
      let results = collector.results
      let latencies = results.flatMap(\.latencies)
      let elapsed = (results.map(\.finished).max()! - start).components
      for client in clients { client.beginGracefulShutdown() }
      running.cancelAll()
      let sorted = latencies.sorted()
      return Measurement(
        count: latencies.count, elapsed: Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18,
        p50: sorted[sorted.count / 2], p99: sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
    }
  }
}

/// What the callers of a round report: their latencies and when they were done.
final class Collector: @unchecked Sendable {
  // @unchecked: guarded by `lock`.
  private let lock = NSLock()
  private var collected: [(latencies: [Double], finished: ContinuousClock.Instant)] = []
  func report(_ latencies: [Double], finished: ContinuousClock.Instant) { lock.withLock { collected.append((latencies, finished)) } }
  var reports: Int { lock.withLock { collected.count } }
  var results: [(latencies: [Double], finished: ContinuousClock.Instant)] { lock.withLock { collected } }
}

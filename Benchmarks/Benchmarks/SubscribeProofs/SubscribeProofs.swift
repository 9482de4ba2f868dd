import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import WarrenCrypto
import WarrenWire
import WarrenWireGRPC

/// What a proof of key possession costs `warren signal` (see subscribe-proofs.sh):
///
///   SubscribeProofs PORT [SECONDS]
///
/// Subscribe calls (open the stream, wait for the marker, end it) from 64 concurrent callers on 4
/// connections, in alternating rounds without and with a proof, against the same server. Proofs
/// are made before each round, so the client's own X25519 is not in the figure; the server does
/// one X25519 per proven Subscribe.
@main
struct SubscribeProofs {
  static let connections = 4
  static let callers = 64
  static let rounds = 3

  static func main() async throws {
    let arguments = CommandLine.arguments
    guard arguments.count >= 2, let port = Int(arguments[1]) else {
      print("usage: SubscribeProofs PORT [SECONDS]")
      exit(2)
    }
    let seconds = arguments.count > 2 ? Double(arguments[2])! : 2
    let clients = (0..<connections).map { _ in
      GRPCClient(
        transport: try! HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in clients { group.addTask { try await client.runConnections() } }
      defer {
        for client in clients { client.beginGracefulShutdown() }
      }
      let stubs = clients.map { Cunicu_Signaling_Signaling.Client(wrapping: $0) }
      let serverKey = try await stubs[0].getBuildInfo(Cunicu_Empty()) { response in
        _ = try response.message
        return try Key(base64: response.metadata[stringValues: KeyPossessionProof.serverKeyMetadataKey].first(where: { _ in true }) ?? "")
      }
      let keys = (0..<callers).map { _ in PrivateKey.generate() }
      var plain: [Measurement] = [], proven: [Measurement] = []
      for _ in 0..<rounds {
        plain.append(try await measure(stubs: stubs, keys: keys, seconds: seconds, proofs: nil))
        // Enough proofs for twice the plain round's rate, made before the clock starts.
        let needed = Int(Double(plain.last!.count) * 2) / callers + 16
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let proofs = try keys.map { key in
          try (0..<needed).map { _ in
            try KeyPossessionProof.make(client: key, server: serverKey, purpose: .subscribe, unixMilliseconds: now)
          }
        }
        proven.append(try await measure(stubs: stubs, keys: keys, seconds: seconds, proofs: proofs))
      }
      func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
      let plainRate = median(plain.map(\.perSecond)), provenRate = median(proven.map(\.perSecond))
      print(String(format: "subscribes without proof: %.0f /s (rounds: %@), p50 %.2f ms", plainRate,
                   plain.map { String(format: "%.0f", $0.perSecond) }.joined(separator: " "), median(plain.map(\.p50))))
      print(String(format: "subscribes with proof:    %.0f /s (rounds: %@), p50 %.2f ms", provenRate,
                   proven.map { String(format: "%.0f", $0.perSecond) }.joined(separator: " "), median(proven.map(\.p50))))
      print(String(format: "ratio: with ÷ without = %.2f (rate), %.2f (p50 latency)", provenRate / plainRate,
                   median(proven.map(\.p50)) / median(plain.map(\.p50))))
      group.cancelAll()
    }
  }

  struct Measurement {
    let count: Int
    let elapsed: Double
    let p50: Double
    var perSecond: Double { Double(count) / elapsed }
  }

  /// Subscribe calls for `seconds`; each caller uses its own key, and its proofs in turn.
  static func measure(
    stubs: [Cunicu_Signaling_Signaling.Client<HTTP2ClientTransport.Posix>], keys: [PrivateKey], seconds: Double,
    proofs: [[[UInt8]]]?
  ) async throws -> Measurement {
    let start = ContinuousClock.now
    let end = start + .milliseconds(Int(seconds * 1000))
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
      for worker in 0..<callers {
        group.addTask {
          var request = Cunicu_Signaling_SubscribeParams()
          request.key = Data(keys[worker].publicKey.bytes)
          var latencies: [Double] = []
          var used = 0
          while ContinuousClock.now < end {
            var metadata = Metadata()
            if let proofs {
              guard used < proofs[worker].count else { break }
              metadata.addBinary(proofs[worker][used], forKey: KeyPossessionProof.metadataKey)
              used += 1
            }
            let began = ContinuousClock.now
            try await stubs[worker % connections].subscribe(request, metadata: metadata) { response in
              for try await _ in response.messages { break }
            }
            let took = (ContinuousClock.now - began).components
            latencies.append(Double(took.seconds) * 1e3 + Double(took.attoseconds) / 1e15)
          }
          return latencies
        }
      }
      return try await group.reduce(into: []) { $0 += $1 }
    }
    let elapsed = ContinuousClock.now - start
    let sorted = latencies.sorted()
    return Measurement(
      count: latencies.count, elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
      p50: sorted.isEmpty ? 0 : sorted[sorted.count / 2])
  }
}

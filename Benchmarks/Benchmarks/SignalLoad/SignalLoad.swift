import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import WarrenWire
import WarrenWireGRPC

/// Load on a running `warren signal` (see signal-load.sh):
///
///   SignalLoad PORT SERVER_PID SUBSCRIBERS [SECONDS]
///
/// 1. ceiling: no-op unary calls (GetBuildInfo) per second, 64 concurrent callers on 4 connections;
/// 2. memory: the server's RSS before and after SUBSCRIBERS idle Subscribe streams;
/// 3. relay: 64 concurrent publishers send to random subscribers; envelopes delivered per second and
///    publish-to-delivery latency percentiles (each envelope carries its send time).
@main
struct SignalLoad {
  static let connections = 4
  static let callers = 64

  static func main() async throws {
    let arguments = CommandLine.arguments
    guard arguments.count >= 4, let port = Int(arguments[1]), let pid = Int(arguments[2]),
      let subscribers = Int(arguments[3])
    else {
      print("usage: SignalLoad PORT SERVER_PID SUBSCRIBERS [SECONDS]")
      exit(2)
    }
    let seconds = arguments.count > 4 ? Double(arguments[4])! : 5

    let clients = (0..<connections).map { _ in
      GRPCClient(
        transport: try! HTTP2ClientTransport.Posix(
          target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in clients { group.addTask { try await client.runConnections() } }
      defer {
        for client in clients { client.beginGracefulShutdown() }
      }
      let stubs = clients.map { Cunicu_Signaling_Signaling.Client(wrapping: $0) }

      // 1. Ceiling.
      let unary = try await rate(seconds: seconds) { worker in
        _ = try await stubs[worker % connections].getBuildInfo(Cunicu_Empty())
      }
      print(String(format: "unary no-op: %.0f calls/s", unary.perSecond))

      // 2. Idle subscribers.
      let before = rss(pid)
      let keys = (0..<subscribers).map { index -> Data in
        var key = Data(count: 32)
        withUnsafeBytes(of: UInt64(index).littleEndian) { key.replaceSubrange(0..<8, with: $0) }
        key[31] = 0x77
        return key
      }
      let latencies = LatencyLog()
      let ready = Counter()
      for (index, key) in keys.enumerated() {
        group.addTask {
          var request = Cunicu_Signaling_SubscribeParams()
          request.key = key
          try await stubs[index % connections].subscribe(request) { response in
            var first = true
            for try await envelope in response.messages {
              if first {
                first = false
                ready.add()
                continue
              }
              let sent = envelope.contents.body.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
              latencies.record(now() - sent)
            }
          }
        }
      }
      while ready.value < subscribers { try await Task.sleep(for: .milliseconds(50)) }
      try await Task.sleep(for: .seconds(1))
      let after = rss(pid)
      print(String(format: "idle subscribers: %d, server RSS %.1f MiB -> %.1f MiB, %.1f KiB per subscriber",
                   subscribers, Double(before) / 1024, Double(after) / 1024, Double(after - before) / Double(subscribers)))

      // 3. Relay throughput and latency.
      let template = {
        var envelope = Cunicu_Signaling_Envelope()
        envelope.sender = Data(repeating: 1, count: 32)
        envelope.contents.nonce = Data(repeating: 2, count: 24)
        return envelope
      }()
      let relayed = try await rate(seconds: seconds) { worker in
        var envelope = template
        envelope.recipient = keys[Int.random(in: 0..<subscribers)]
        var body = Data(count: 120)
        withUnsafeBytes(of: now()) { body.replaceSubrange(0..<8, with: $0) }
        envelope.contents.body = body
        _ = try await stubs[worker % connections].publish(envelope)
      }
      try await Task.sleep(for: .seconds(1))
      let delivered = latencies.count
      let p = latencies.percentiles([0.5, 0.99])
      print(String(format: "relay: %.0f publishes/s, %.0f delivered/s (%d of %d), latency p50 %.2f ms, p99 %.2f ms",
                   relayed.perSecond, Double(delivered) / relayed.elapsed, delivered, relayed.count,
                   Double(p[0]) / 1e6, Double(p[1]) / 1e6))
      print(String(format: "ratio: relay publishes/s ÷ unary no-op calls/s = %.2f", relayed.perSecond / unary.perSecond))

      // 4. Latency at a moderate, paced rate (1,000 envelopes/s), as signaling sees it.
      latencies.reset()
      let paced = 1000 * Int(seconds)
      let pacedStart = now()
      for index in 0..<paced {
        let due = pacedStart + UInt64(index) * 1_000_000
        while now() < due { try await Task.sleep(for: .microseconds(200)) }
        var envelope = template
        envelope.recipient = keys[index % subscribers]
        var body = Data(count: 120)
        withUnsafeBytes(of: now()) { body.replaceSubrange(0..<8, with: $0) }
        envelope.contents.body = body
        _ = try await stubs[index % connections].publish(envelope)
      }
      try await Task.sleep(for: .seconds(1))
      let q = latencies.percentiles([0.5, 0.99])
      print(String(format: "paced 1000/s: %d of %d delivered, latency p50 %.2f ms, p99 %.2f ms",
                   latencies.count, paced, Double(q[0]) / 1e6, Double(q[1]) / 1e6))
      group.cancelAll()
    }
  }

  struct Rate {
    let count: Int
    let elapsed: Double
    var perSecond: Double { Double(count) / elapsed }
  }

  /// Runs `call` from `callers` concurrent workers for `seconds`.
  static func rate(seconds: Double, _ call: @escaping @Sendable (Int) async throws -> Void) async throws -> Rate {
    let start = now()
    let end = start + UInt64(seconds * 1e9)
    let counts = try await withThrowingTaskGroup(of: Int.self) { group in
      for worker in 0..<callers {
        group.addTask {
          var count = 0
          while now() < end {
            try await call(worker)
            count += 1
          }
          return count
        }
      }
      return try await group.reduce(0, +)
    }
    return Rate(count: counts, elapsed: Double(now() - start) / 1e9)
  }

  static func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }

  /// Resident set size of a process, in KiB.
  static func rss(_ pid: Int) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }
    return 0
  }
}

final class Counter: @unchecked Sendable {
  // @unchecked: guarded by `lock`.
  private let lock = NSLock()
  private var count = 0
  func add() { lock.withLock { count += 1 } }
  var value: Int { lock.withLock { count } }
}

final class LatencyLog: @unchecked Sendable {
  // @unchecked: guarded by `lock`.
  private let lock = NSLock()
  private var samples: [UInt64] = []
  func record(_ nanoseconds: UInt64) { lock.withLock { samples.append(nanoseconds) } }
  var count: Int { lock.withLock { samples.count } }
  func reset() { lock.withLock { samples.removeAll() } }
  func percentiles(_ ps: [Double]) -> [UInt64] {
    let sorted = lock.withLock { samples.sorted() }
    guard !sorted.isEmpty else { return ps.map { _ in 0 } }
    return ps.map { sorted[min(sorted.count - 1, Int(Double(sorted.count) * $0))] }
  }
}

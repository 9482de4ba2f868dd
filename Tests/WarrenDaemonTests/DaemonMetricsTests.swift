import Foundation
import Logging
import Testing
import WarrenCrypto
@testable import WarrenDaemon
import WarrenListener
import WarrenPrimitives
import WarrenSignaling
import WarrenTestSupport

/// `metrics:` of two connected daemons in one process (in-process backend, loopback sockets).
@Suite("daemon metrics (integration)", .timeLimit(.scaled(minutes: 1)))
struct DaemonMetricsTests: DaemonSocketTesting {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-metrics-\(UUID())").path
  let alice = PrivateKey.generate()
  let bob = PrivateKey.generate()

  @Test("every peer, backend and process metric, with its type and labels, from a connected daemon")
  func scrape() async throws {
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let factory = BackendFactory(logger: Logger(label: "test"))
    var aliceConfiguration = try configuration(alice, peers: [("bob", bob.publicKey, "127.0.0.1:9")], socket: "alice.sock")
    aliceConfiguration.metrics = TransportAddress(parsing: "127.0.0.1:0")
    let a = try Daemon(configuration: aliceConfiguration, factory: factory, logger: Logger(label: "alice"))
    let b = try Daemon(
      configuration: try configuration(bob, peers: [("alice", alice.publicKey, "127.0.0.1:9")], socket: "bob.sock"),
      factory: factory, logger: Logger(label: "bob"))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await a.run() }
      group.addTask { try await b.run() }
      defer { group.cancelAll() }
      _ = try await waitConnected("alice.sock", peer: "bob", path: "direct")
      let endpoint = try #require(try await firstValue { a.metricsEndpoint.withLock { $0 } })
      let text = try await httpGet(port: try await endpoint.listeningPort, path: "/metrics")
      let peer = #"peer="bob",key="\#(bob.publicKey.base64.prefix(8))""#
      for line in [
        "# TYPE warren_peer_state gauge", "# TYPE warren_peer_connected gauge", "# TYPE warren_peer_rtt_seconds gauge",
        "# TYPE warren_peer_sent_bytes_total counter", "# TYPE warren_peer_restarts_total counter",
        "# TYPE warren_peer_dropped_messages_total counter", "# TYPE warren_backend_envelopes_published_total counter",
        "# TYPE process_cpu_seconds_total counter", "# TYPE process_resident_memory_bytes gauge",
      ] {
        #expect(text.contains(line), "missing \(line)")
      }
      #expect(text.contains("warren_peer_connected{\(peer)} 1"), "\(text.prefix(2000))")
      #expect(text.contains("warren_peer_path{\(peer),path=\"direct\"} 1"))
      #expect(text.contains("warren_peer_data_path{\(peer),data_path=\"userspace\"} 1"))
      #expect(text.contains("warren_peer_restarts_total{\(peer),cause=\"peer_restarted\"} 0"))
      #expect(text.contains("warren_backend_envelopes_refused_total{backend=\"inprocess\",reason=\"unopenable\"} 0"))
      #expect(text.split(separator: "\n").contains { $0.hasPrefix("warren_peer_last_signal_age_seconds{\(peer)} ") })
      #expect(try await httpGet(port: try await endpoint.listeningPort, path: "/other").contains("only GET /metrics"))
    }
  }
}

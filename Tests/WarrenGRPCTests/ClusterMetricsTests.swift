import WarrenPrimitives
import Testing
import WarrenSignalServer
import WarrenTestSupport
import WarrenWire

@Suite("Cluster metrics and readiness of warren signal", .timeLimit(.scaled(minutes: 1)))
struct ClusterMetricsTests {
  final class FixedBus: ClusterBus {
    private let current: Locked<ClusterStatistics>
    init(_ statistics: ClusterStatistics) { current = Locked(statistics) }
    var statistics: ClusterStatistics { current.withLock { $0 } }
    func forward(_ envelope: Cunicu_Signaling_Envelope, size: Int) {}
    var isConnected: Bool { statistics.connected }
    func setConnected(_ connected: Bool) { current.withLock { $0.connected = connected } }
    func run() async {}
  }

  @Test("/ready answers 200 while the bus is up and 503 with the reason while it is down; without a cluster it is always ready")
  func readiness() async throws {
    let bus = FixedBus(ClusterStatistics())
    let clustered = try await RunningServer(metrics: true) { $0.cluster = { _, _ in bus } }
    let port = try #require(try await clustered.server.metricsPort)
    #expect(try await httpGet(port: port, path: "/ready").hasPrefix("not ready: the cluster bus is down"))
    bus.setConnected(true)
    #expect(try await httpGet(port: port, path: "/ready") == "ready\n")
    #expect(try await httpGet(port: port, path: "/other").contains("only GET /metrics and GET /ready are served here"))
    try await clustered.stop()
    let single = try await RunningServer(metrics: true)
    #expect(try await httpGet(port: try #require(try await single.server.metricsPort), path: "/ready") == "ready\n")
    try await single.stop()
  }

  @Test("the bus's counters, gauge and latency histogram, in Prometheus text with cumulative buckets")
  func exposition() {
    var statistics = ClusterStatistics()
    statistics.connected = true
    statistics.connections = 2
    statistics.sent = 7
    statistics.received = 5
    statistics.spilled = 1
    statistics.droppedDisconnected = 3
    for seconds in [0.0004, 0.0009, 0.003, 2.0, -0.1] { statistics.recordLatency(seconds) }
    let metrics = SignalMetrics(relay: SignalingRelay(), errors: RPCErrorCounter(), cluster: FixedBus(statistics))
    let lines = Set(String(decoding: metrics.scrape(), as: UTF8.self).split(separator: "\n").map(String.init))
    for expected in [
      "warren_signal_cluster_connected 1.0", "warren_signal_cluster_connections_total 2",
      #"warren_signal_cluster_envelopes_total{direction="sent"} 7"#, #"warren_signal_cluster_envelopes_total{direction="received"} 5"#,
      "warren_signal_cluster_spilled_total 1", #"warren_signal_cluster_dropped_total{reason="disconnected"} 3"#,
      #"warren_signal_cluster_dropped_total{reason="queue_full"} 0"#,
      "# TYPE warren_signal_cluster_latency_seconds histogram",
      // A clock step backwards (-0.1 s) counts as 0.
      #"warren_signal_cluster_latency_seconds_bucket{le="0.0005"} 2"#,
      #"warren_signal_cluster_latency_seconds_bucket{le="0.001"} 3"#,
      #"warren_signal_cluster_latency_seconds_bucket{le="0.005"} 4"#,
      #"warren_signal_cluster_latency_seconds_bucket{le="1.0"} 4"#,
      #"warren_signal_cluster_latency_seconds_bucket{le="+Inf"} 5"#,
      "warren_signal_cluster_latency_seconds_count 5",
    ] {
      #expect(lines.contains(expected), "\(expected)")
    }
  }
}

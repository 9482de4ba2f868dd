#if canImport(Glibc)
internal import Glibc
#endif
internal import Foundation
internal import Prometheus
internal import WarrenDiscovery
internal import WarrenSession
internal import WarrenSignaling

/// The daemon's Prometheus metrics (`metrics: HOST:PORT`, docs/control.md "Metrics"), made from
/// `warren status`'s report at each scrape, so the data path only bumps its own counters. Peers
/// are labelled by name and a short key (the first 8 characters of the base64 key).
///
/// Per peer: `warren_peer_state{state}` and `warren_peer_path{path}` (1 for the current value, 0
/// for the others), `warren_peer_data_path{data_path}`, `warren_peer_connected`,
/// `warren_peer_rtt_seconds`, `warren_peer_{sent,received}_{bytes,datagrams}_total`,
/// `warren_peer_restarts_total{cause}`, `warren_peer_dropped_messages_total{reason}`,
/// `warren_peer_last_signal_age_seconds`. Per backend: `warren_backend_envelopes_{published,
/// publish_failed,received}_total`, `warren_backend_envelopes_refused_total{reason}`. Peer
/// discovery: `warren_discovery_learned_peers{interface}`, `warren_discovery_refusals_total{
/// interface,reason}`. The process: `process_resident_memory_bytes`, `process_cpu_seconds_total`,
/// `process_open_fds`, `process_start_time_seconds`.
enum DaemonMetrics {
  static let paths = ["direct", "srflx", "relay", "none"]
  static let dataPaths = ["kernel", "userspace"]

  /// The Prometheus text exposition of `report` and the backend's counters.
  static func scrape(_ report: StatusReport, backend: (any SignalingBackend)?, startTime: Double) -> [UInt8] {
    let registry = PrometheusCollectorRegistry()
    func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
      registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels).set(value)
    }
    func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int) {
      registry.makeCounter(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels).increment(by: Int64(max(0, value)))
    }
    for peer in report.peers {
      let id = [("peer", peer.name), ("key", String(peer.publicKey.prefix(8)))]
      for state in SessionState.allCases.map(\.rawValue) {
        gauge("warren_peer_state", "The session's state: 1 for the current one", id + [("state", state)], peer.state == state ? 1 : 0)
      }
      let connected = peer.state == "connected" || peer.state == "completed"
      gauge("warren_peer_connected", "1 while the session is connected or completed", id, connected ? 1 : 0)
      for path in paths {
        gauge("warren_peer_path", "The selected pair's kind: 1 for the current one", id + [("path", path)], (peer.path ?? "none") == path ? 1 : 0)
      }
      for dataPath in dataPaths {
        gauge("warren_peer_data_path", "The data path carrying the peer's traffic: 1 for the current one", id + [("data_path", dataPath)],
              peer.dataPath == dataPath ? 1 : 0)
      }
      gauge("warren_peer_rtt_seconds", "The selected pair's last round-trip time", id, (peer.rttMs ?? 0) / 1000)
      counter("warren_peer_sent_bytes_total", "Bytes sent to the peer by the proxy", id, peer.bytesSent)
      counter("warren_peer_received_bytes_total", "Bytes received from the peer by the proxy", id, peer.bytesReceived)
      counter("warren_peer_sent_datagrams_total", "Datagrams sent to the peer by the proxy", id, peer.packetsSent)
      counter("warren_peer_received_datagrams_total", "Datagrams received from the peer by the proxy", id, peer.packetsReceived)
      for cause in RestartCause.allCases {
        counter("warren_peer_restarts_total", "Session restarts, by cause", id + [("cause", cause.rawValue)], peer.restartCauses[cause])
      }
      for reason in DroppedMessageReason.allCases {
        counter(
          "warren_peer_dropped_messages_total", "Signaling messages from the peer dropped, by reason", id + [("reason", reason.rawValue)],
          peer.droppedMessages[reason])
      }
      if let age = peer.secondsSinceSignal {
        gauge("warren_peer_last_signal_age_seconds", "Seconds since the last signaling message from the peer", id, age)
      }
    }
    if let backend = backend as? TransportBackend {
      let label = [("backend", "\(backend.type)")]
      let counts = backend.registry.counters
      let publishes = backend.publishCounters
      counter("warren_backend_envelopes_published_total", "Envelopes published", label, publishes.published)
      counter("warren_backend_envelopes_publish_failed_total", "Publishes that failed", label, publishes.failed)
      counter("warren_backend_envelopes_received_total", "Envelopes received and handed to a subscriber", label, counts.delivered)
      for (reason, value) in [
        ("unknown_recipient", counts.droppedUnknownRecipient), ("unopenable", counts.droppedUnopenable),
        ("no_subscriber", counts.droppedNoSubscriber), ("overflow", counts.droppedOverflow),
      ] {
        counter("warren_backend_envelopes_refused_total", "Envelopes received but not delivered, by reason", label + [("reason", reason)], value)
      }
    }
    for discovery in report.discovery ?? [] {
      let label = [("interface", discovery.interface)]
      gauge("warren_discovery_learned_peers", "Peers learned by peer discovery", label, Double(discovery.learned.count))
      for reason in DiscoveryRefusal.Reason.allCases.map(\.rawValue) {
        counter("warren_discovery_refusals_total", "Announcements not acted on, by reason", label + [("reason", reason)],
                discovery.refusals[reason] ?? 0)
      }
    }
    process(registry, gauge: gauge, counter: counter, startTime: startTime)
    return registry.emitToBuffer()
  }

  private static func process(
    _ registry: PrometheusCollectorRegistry, gauge: (String, String, [(String, String)], Double) -> Void,
    counter: (String, String, [(String, String)], Int) -> Void, startTime: Double
  ) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    registry.makeCounter(descriptor: .init(metricName: "process_cpu_seconds_total", unitName: "", helpText: "User and system CPU time")).increment(by: cpu)
    let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
    if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
      let resident = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
    {
      gauge("process_resident_memory_bytes", "Resident memory", [], resident * pageSize)
    }
    if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
      gauge("process_open_fds", "Open file descriptors", [], Double(descriptors.count))
    }
    gauge("process_start_time_seconds", "When the process started, seconds since the Unix epoch", [], startTime)
  }
}

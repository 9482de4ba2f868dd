internal import WarrenPrimitives
internal import GRPCCore
internal import Prometheus

/// The signal server's Prometheus metrics. Values are read from the relay's statistics when
/// scraped, so the relaying path only bumps plain counters under its own lock.
public final class SignalMetrics: Sendable {
  private struct Instruments: @unchecked Sendable {
    // @unchecked: Prometheus' instruments are thread-safe classes that predate Sendable checking
    // here; they are only used under `lock` anyway.
    let registry = PrometheusCollectorRegistry()
    let topics: Gauge
    let subscriptions: Gauge
    let published: Counter
    let publishedBytes: Counter
    let delivered: Counter
    let deliveredBytes: Counter
    let droppedNoSubscriber: Counter
    let droppedQueueFull: Counter

    init() {
      topics = registry.makeGauge(descriptor: Self.name("topics", "", "Keys with at least one live subscription"))
      subscriptions = registry.makeGauge(descriptor: Self.name("subscriptions", "", "Live Subscribe streams"))
      published = registry.makeCounter(
        descriptor: Self.name("envelopes_published", "total", "Envelopes accepted by Publish"))
      publishedBytes = registry.makeCounter(
        descriptor: Self.name("published_bytes", "total", "Bytes of envelopes accepted by Publish"))
      delivered = registry.makeCounter(
        descriptor: Self.name("envelopes_delivered", "total", "Envelopes written to Subscribe streams"))
      deliveredBytes = registry.makeCounter(
        descriptor: Self.name("delivered_bytes", "total", "Bytes written to Subscribe streams"))
      droppedNoSubscriber = registry.makeCounter(
        descriptor: Self.dropped, labels: [("reason", "no_subscriber")])
      droppedQueueFull = registry.makeCounter(descriptor: Self.dropped, labels: [("reason", "queue_full")])
    }

    static var dropped: MetricNameDescriptor { name("envelopes_dropped", "total", "Envelopes dropped, by reason") }
    static var refusals: MetricNameDescriptor {
      name("refusals", "total", "Calls refused by access control (proofs, allowed keys, rate limits), by method and reason")
    }
    static var rpcErrors: MetricNameDescriptor {
      name("rpc_errors", "total", "Requests answered with an error, by status code")
    }

    /// `warren_signal_<name>_<unit>`; an empty unit is left out.
    static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
      MetricNameDescriptor(namespace: "warren", subsystem: "signal", metricName: name, unitName: unit, helpText: help)
    }
  }

  private let relay: SignalingRelay
  private let errors: RPCErrorCounter
  private let access: AccessControl?
  private let cluster: (any ClusterBus)?
  private let lock = Locked(Instruments())

  public init(relay: SignalingRelay, errors: RPCErrorCounter, access: AccessControl? = nil, cluster: (any ClusterBus)? = nil) {
    self.relay = relay
    self.errors = errors
    self.access = access
    self.cluster = cluster
  }

  /// gRPC's canonical status name, as in the protocol's documentation: `invalidArgument` becomes
  /// `INVALID_ARGUMENT`.
  static func statusName(_ code: RPCError.Code) -> String {
    var name = ""
    for character in "\(code)" {
      if character.isUppercase { name += "_" }
      name += character.uppercased()
    }
    return name
  }

  /// The Prometheus text exposition of the current values.
  public func scrape() -> [UInt8] {
    let statistics = relay.statistics
    let errorCounts = errors.snapshot
    let refusals = access?.refusalCounts ?? [:]
    let bus = cluster?.statistics
    var text = lock.withLock { metrics in
      metrics.topics.set(Double(statistics.topics))
      metrics.subscriptions.set(Double(statistics.subscriptions))
      func set(_ counter: Counter, _ value: Int) {
        counter.reset()
        counter.increment(by: Int64(value))
      }
      set(metrics.published, statistics.published)
      set(metrics.publishedBytes, statistics.publishedBytes)
      set(metrics.delivered, statistics.delivered)
      set(metrics.deliveredBytes, statistics.deliveredBytes)
      set(metrics.droppedNoSubscriber, statistics.droppedNoSubscriber)
      set(metrics.droppedQueueFull, statistics.droppedQueueFull)
      for (code, count) in errorCounts {
        set(metrics.registry.makeCounter(descriptor: Instruments.rpcErrors, labels: [("code", Self.statusName(code))]), count)
      }
      // Every method and reason is exported from the start (at 0), so a dashboard's rate() sees
      // the first refusal.
      if access != nil {
        for method in AccessControl.Method.allCases {
          for reason in method.refusalReasons {
            let counter = metrics.registry.makeCounter(
              descriptor: Instruments.refusals, labels: [("method", method.rawValue), ("reason", reason.rawValue)])
            set(counter, refusals[AccessControl.RefusalKey(method: method, reason: reason)] ?? 0)
          }
        }
      }
      if let bus {
        let connected = metrics.registry.makeGauge(
          descriptor: Instruments.name("cluster_connected", "", "1 while the cluster bus reaches the other replicas"))
        connected.set(to: bus.connected ? 1.0 : 0.0)
        let connections = Instruments.name("cluster_connections", "total", "Connections the cluster bus made to PostgreSQL")
        set(metrics.registry.makeCounter(descriptor: connections), bus.connections)
        let envelopes = Instruments.name("cluster_envelopes", "total", "Envelopes over the cluster bus, by direction")
        set(metrics.registry.makeCounter(descriptor: envelopes, labels: [("direction", "sent")]), bus.sent)
        set(metrics.registry.makeCounter(descriptor: envelopes, labels: [("direction", "received")]), bus.received)
        let spilled = Instruments.name("cluster_spilled", "total", "Envelopes too large for a notification, sent through the spill table")
        set(metrics.registry.makeCounter(descriptor: spilled), bus.spilled)
        let dropped = Instruments.name("cluster_dropped", "total", "Envelopes the cluster bus could not send or read, by reason")
        set(metrics.registry.makeCounter(descriptor: dropped, labels: [("reason", "disconnected")]), bus.droppedDisconnected)
        set(metrics.registry.makeCounter(descriptor: dropped, labels: [("reason", "queue_full")]), bus.droppedQueueFull)
        set(metrics.registry.makeCounter(descriptor: dropped, labels: [("reason", "malformed")]), bus.malformed)
      }
      return metrics.registry.emitToBuffer()
    }
    if let bus { text += Self.latencyHistogram(bus) }
    return text
  }

  /// `warren_signal_cluster_latency_seconds`, written out from the bus's bucket counts (the
  /// Prometheus library's histograms take observations, and the bus counts them itself).
  static func latencyHistogram(_ bus: ClusterStatistics) -> [UInt8] {
    let name = "warren_signal_cluster_latency_seconds"
    var lines = [
      "# HELP \(name) Time from a publish on one replica to its arrival on another (their wall clocks)",
      "# TYPE \(name) histogram",
    ]
    var cumulative = 0
    for (bound, count) in zip(ClusterStatistics.latencyBuckets, bus.latencyCounts) {
      cumulative += count
      lines.append("\(name)_bucket{le=\"\(bound)\"} \(cumulative)")
    }
    let total = bus.latencyCounts.reduce(0, +)
    lines.append("\(name)_bucket{le=\"+Inf\"} \(total)")
    lines.append("\(name)_sum \(bus.latencySum)")
    lines.append("\(name)_count \(total)")
    return Array((lines.joined(separator: "\n") + "\n").utf8)
  }
}

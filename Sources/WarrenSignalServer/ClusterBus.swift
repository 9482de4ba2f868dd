public import WarrenWire

/// How the replicas of a clustered `warren signal` hand each other what is published on them
/// (docs/cluster.md). A replica delivers every envelope published on it to its own subscribers
/// first, then forwards it on the bus; the bus delivers what other replicas forwarded into the
/// replica's ``SignalingRelay``.
public protocol ClusterBus: Sendable {
  /// Hands an envelope published on this replica (`size` bytes serialized) to the others. Never
  /// blocks: an envelope the bus cannot take now is counted and dropped.
  func forward(_ envelope: Cunicu_Signaling_Envelope, size: Int)
  /// Whether the bus reaches the other replicas now (`/ready`).
  var isConnected: Bool { get }
  var statistics: ClusterStatistics { get }
  /// Connects, and reconnects whenever the connection is lost, until cancelled.
  func run() async
}

/// A bus's running totals, for metrics.
public struct ClusterStatistics: Sendable, Equatable {
  /// Upper bounds of the latency histogram's buckets, in seconds.
  public static let latencyBuckets: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1]

  public var connected = false
  /// Connections made (the first one included).
  public var connections = 0
  /// Envelopes sent to the other replicas; of them, how many went through the spill table.
  public var sent = 0
  public var spilled = 0
  /// Envelopes received from other replicas.
  public var received = 0
  /// Envelopes published here that could not be sent: the bus was down, or its queue full.
  public var droppedDisconnected = 0
  public var droppedQueueFull = 0
  /// Notifications on the channel that were not frames, or named a spilled row that was gone.
  public var malformed = 0
  /// Receive latency (receiver's wall clock minus the sender's): per bucket of
  /// ``latencyBuckets`` (not cumulative; the last entry counts the ones above every bound), and
  /// their sum in seconds.
  public var latencyCounts = [Int](repeating: 0, count: ClusterStatistics.latencyBuckets.count + 1)
  public var latencySum = 0.0

  public init() {}

  public mutating func recordLatency(_ seconds: Double) {
    let clamped = max(0, seconds)
    let bucket = Self.latencyBuckets.firstIndex { clamped <= $0 } ?? Self.latencyBuckets.count
    latencyCounts[bucket] += 1
    latencySum += clamped
  }
}

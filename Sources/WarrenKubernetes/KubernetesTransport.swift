internal import Foundation
public import Logging
internal import Synchronization
public import WarrenCrypto
public import WarrenPrimitives
public import WarrenSignaling
public import WarrenWire
internal import WarrenYAML

/// The `k8s:///path/to/kubeconfig?namespace=cunicu` and `k8s://incluster` backend (wire.md):
/// envelopes are `SignalingEnvelope` objects in one namespace of a Kubernetes API server.
///
/// Publishing creates an object (`generateName: cunicu-`). Receiving lists the namespace, then
/// watches it from the list's resource version with bookmarks. A watch that ends is resumed from
/// the last resource version seen; `410 Gone` (the version is too old) makes it list again. Object
/// UIDs already delivered are remembered, so nothing reaches the registry twice. Every
/// `cleanup_interval`, envelopes older than `max_age` are deleted, whoever sent them.
public final class KubernetesTransport: EnvelopeTransport {
  public let settings: Settings
  public let namespace: String
  public let client: KubernetesAPIClient
  let sink: any EnvelopeSink
  /// The time the receive loop's back-off and the clean-up loop wait on.
  let clock: any MonotonicClock
  let logger: Logger
  let state = Locked(State())
  let invalid = Atomic<Int>(0)

  struct State {
    var subscriptions: Set<Key> = []
    /// UIDs of the objects delivered and still listed: never delivered again.
    var delivered: Set<String> = []
    /// The receive and cleanup loops, once the first subscription started them.
    var started = false
    var tasks: [Task<Void, Never>] = []
    /// The watch running now; cancelled to make the loop list again.
    var watch: Task<Result<WatchEnd, KubernetesError>, Never>?
    /// List rounds: bumped by each subscribe (`wanted`); the loop's lists catch up with it
    /// (`listed`).
    var wanted = 0
    var listed = 0
    /// Subscribers waiting for a list at least as new as their round, by id.
    var waiters: [Int: Waiter] = [:]
    var nextWaiter = 0
    var closed = false
    /// The last resource version listed or watched.
    var resourceVersion: String?
  }

  /// The resource version the next watch would start from (the last one listed, watched or
  /// bookmarked); `nil` before the first list.
  public var resourceVersion: String? { state.withLock { $0.resourceVersion } }

  struct Waiter {
    var listRound: Int
    var continuation: CheckedContinuation<Void, any Error>
  }

  /// Objects received that were not well-formed envelopes.
  public var invalidCount: Int { invalid.load(ordering: .relaxed) }

  public var type: BackendType { .k8S }

  public convenience init(url: BackendURL, sink: any EnvelopeSink, logger: Logger) throws(SignalingError) {
    let settings = try Settings(url)
    let connection: KubernetesConnection
    do {
      switch settings.source {
      case .inCluster: connection = try KubernetesConnection.inCluster()
      case .kubeconfig(let path): connection = try KubeConfig.load(paths: path.map { [$0] } ?? KubeConfig.defaultPaths())
      }
    } catch let error as KubernetesError {
      throw SignalingError(.invalidURL, "\(url): \(error.message)", causes: [error])
    } catch {
      throw SignalingError(.invalidURL, "\(url): kubeconfig \(error)", causes: [error])
    }
    try self.init(settings: settings, connection: connection, sink: sink, logger: logger)
  }

  public init(
    settings: Settings, connection: KubernetesConnection, sink: any EnvelopeSink, logger: Logger, clock: any MonotonicClock = ContinuousClock()
  ) throws(SignalingError) {
    self.clock = clock
    self.settings = settings
    namespace = settings.namespace ?? connection.namespace ?? "cunicu"
    do { client = try KubernetesAPIClient(connection: connection) } catch {
      throw SignalingError(.invalidURL, error.message, causes: [error])
    }
    self.sink = sink
    var logger = logger
    logger[metadataKey: "namespace"] = "\(namespace)"
    logger[metadataKey: "server"] = "\(connection.server)"
    self.logger = logger
  }

  /// Returns once a list made after the subscription has been delivered.
  public func subscribe(_ ours: PrivateKey) async throws {
    let key = ours.publicKey
    let (listRound, start, watch, id) = try state.withLock { state throws(SignalingError) in
      guard !state.closed else { throw SignalingError(.closed, "the k8s backend is closed") }
      state.subscriptions.insert(key)
      state.wanted += 1
      state.nextWaiter += 1
      defer { state.started = true }
      return (state.wanted, !state.started, state.watch, state.nextWaiter)
    }
    if start { startTasks() }
    watch?.cancel()  // list again, so that envelopes already waiting for `key` are delivered
    // Cancellable: with the API server down, a daemon that stops must not wait for it.
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        let outcome: Result<Void, any Error>? = state.withLock { state in
          if state.closed { return .failure(SignalingError(.closed, "the k8s backend is closed")) }
          if Task.isCancelled { return .failure(CancellationError()) }
          if state.listed >= listRound { return .success(()) }
          state.waiters[id] = Waiter(listRound: listRound, continuation: continuation)
          return nil
        }
        if let outcome { continuation.resume(with: outcome) }
      }
    } onCancel: {
      state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
    }
  }

  public func unsubscribe(_ key: Key) {
    _ = state.withLock { $0.subscriptions.remove(key) }
  }

  public func publish(_ envelope: Cunicu_Signaling_Envelope) async throws {
    do {
      let created = try await client.create(SignalingEnvelopeObject(envelope, namespace: namespace), namespace: namespace)
      logger.trace("published", metadata: ["object": "\(created.metadata.name ?? "?")"])
    } catch {
      throw SignalingError(.publishFailed, "cannot create a SignalingEnvelope: \(error.message)", causes: [error])
    }
  }

  public func close() async {
    let (tasks, waiters) = state.withLock { state in
      state.closed = true
      defer { state.tasks = []; state.waiters = [:] }
      return (state.tasks, state.waiters)
    }
    for task in tasks { task.cancel() }
    for waiter in waiters.values { waiter.continuation.resume(throwing: SignalingError(.closed, "the k8s backend is closed")) }
    for task in tasks { await task.value }
    await client.shutdown()
  }
}

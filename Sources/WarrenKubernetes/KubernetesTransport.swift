internal import Foundation
public import Logging
internal import Synchronization
public import WarrenCrypto
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
  /// The URL's settings.
  public struct Settings: Sendable {
    public enum Source: Sendable, Equatable {
      /// A kubeconfig file; `nil` means the files of `$KUBECONFIG`, merged, or `~/.kube/config`.
      case kubeconfig(String?)
      /// The pod's service account.
      case inCluster
    }

    public var source: Source
    /// The `namespace` parameter; otherwise the context's namespace, otherwise `cunicu`.
    public var namespace: String?
    /// How often old envelopes are deleted (cunicu: every minute); `nil` never.
    public var cleanupInterval: Duration? = .seconds(60)
    /// The age from which envelopes are deleted (cunicu: 10 minutes).
    public var maxAge: Duration = .seconds(600)
    /// How long one watch request lasts before it is renewed (`timeoutSeconds`).
    public var watchTimeout: Duration = .seconds(300)
    /// Waits between attempts after the API server failed.
    public var backoff = ReconnectBackoff(initial: .milliseconds(200), maximum: .seconds(30))

    public init(_ url: BackendURL) throws(SignalingError) {
      try url.checkParameters(["namespace", "cleanup_interval", "max_age", "watch_timeout"])
      if url.host == "incluster" {
        guard url.path.isEmpty || url.path == "/" else {
          throw SignalingError(.invalidURL, "\(url): k8s://incluster takes no path")
        }
        source = .inCluster
      } else if url.host.isEmpty {
        source = .kubeconfig(url.path.isEmpty || url.path == "/" ? nil : url.path)
      } else {
        throw SignalingError(
          .invalidURL,
          "\(url): expected k8s:///path/to/kubeconfig (three slashes), k8s:// for the default kubeconfig, or k8s://incluster")
      }
      if let namespace = url.query["namespace"] {
        guard Self.isName(namespace) else {
          throw SignalingError(.invalidURL, "\(url): namespace '\(namespace)' is not a Kubernetes name (a DNS label)")
        }
        if !namespace.isEmpty { self.namespace = namespace }
      }
      if let text = url.query["cleanup_interval"] {
        cleanupInterval = ["0", "off", "never"].contains(text) ? nil : try Self.duration(text, "cleanup_interval", url)
      }
      if let text = url.query["max_age"] { maxAge = try Self.duration(text, "max_age", url) }
      if let text = url.query["watch_timeout"] {
        watchTimeout = try Self.duration(text, "watch_timeout", url)
        guard watchTimeout >= .seconds(1) else { throw SignalingError(.invalidURL, "\(url): watch_timeout must be at least 1s") }
      }
    }

    private static func duration(_ text: String, _ name: String, _ url: BackendURL) throws(SignalingError) -> Duration {
      guard let duration = YAMLReader.duration(text) else {
        throw SignalingError(.invalidURL, "\(url): \(name) must be a duration like 30s, 10m or 1h, got '\(text)'")
      }
      return duration
    }

    /// RFC 1123 label: what Kubernetes accepts as a namespace.
    static func isName(_ text: String) -> Bool {
      text.count <= 63 && text.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
        && text.first != "-" && text.last != "-"
    }
  }

  public let settings: Settings
  public let namespace: String
  public let client: KubernetesAPIClient
  private let sink: any EnvelopeSink
  private let logger: Logger
  private let state = Mutex(State())
  private let invalid = Atomic<Int>(0)

  private struct State {
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

  private struct Waiter {
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

  public init(settings: Settings, connection: KubernetesConnection, sink: any EnvelopeSink, logger: Logger) throws(SignalingError) {
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

  // MARK: - Receiving

  private func startTasks() {
    var tasks = [Task { await self.receiveLoop() }]
    if let interval = settings.cleanupInterval {
      tasks.append(Task { await self.cleanupLoop(every: interval) })
    }
    let cancel = state.withLock { state in
      guard !state.closed else { return true }
      state.tasks = tasks
      return false
    }
    if cancel { for task in tasks { task.cancel() } }
  }

  /// List, then watch until the watch expires or a subscription asks for a new list; again.
  private func receiveLoop() async {
    var failures = 0
    while !Task.isCancelled {
      let listRound = state.withLock { $0.wanted }
      do {
        var resourceVersion = try await listAndDeliver(listRound: listRound)
        failures = 0
        watching: while !Task.isCancelled, state.withLock({ $0.wanted }) == listRound {
          switch try await watchOnce(from: resourceVersion) {
          case .ended(let version):
            resourceVersion = version
          case .broken(let version, let error):
            // Resume where the stream stopped, after a pause so that a server that keeps
            // dropping connections is not hammered.
            logger.info("the watch broke; resuming", metadata: ["resource_version": "\(version)", "error": "\(error)"])
            resourceVersion = version
            try? await Task.sleep(for: settings.backoff.initial)
          case .relist:
            break watching
          }
        }
      } catch {
        if Task.isCancelled { return }
        failures += 1
        let delay = settings.backoff.delay(afterFailures: failures)
        logger.warning(
          "the Kubernetes API failed; trying again", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
        try? await Task.sleep(for: delay)
      }
    }
  }

  /// Lists the namespace, delivers what was not delivered yet (oldest first), forgets UIDs that
  /// are gone, wakes the subscribers waiting for this list, and returns its resource version.
  private func listAndDeliver(listRound: Int) async throws(KubernetesError) -> String {
    let list = try await client.list(namespace: namespace)
    let items = list.items.sorted { Self.order($0.metadata?.resourceVersion, $1.metadata?.resourceVersion) }
    var present: Set<String> = []
    for item in items {
      guard let meta = item.metadata, let uid = meta.uid ?? meta.name else { continue }
      present.insert(uid)
      receive(item.object, meta: meta)
    }
    let waiters = state.withLock { state in
      state.delivered.formIntersection(present)
      state.resourceVersion = list.metadata.resourceVersion
      state.listed = max(state.listed, listRound)
      let ready = state.waiters.filter { $0.value.listRound <= listRound }
      for id in ready.keys { state.waiters[id] = nil }
      return ready.values
    }
    for waiter in waiters { waiter.continuation.resume() }
    logger.debug("listed", metadata: ["objects": "\(items.count)", "resource_version": "\(list.metadata.resourceVersion ?? "")"])
    return list.metadata.resourceVersion ?? ""
  }

  /// Resource versions are etcd revisions in practice: compared as numbers when they are.
  private static func order(_ a: String?, _ b: String?) -> Bool {
    if let a, let b, let x = UInt64(a), let y = UInt64(b) { return x < y }
    return (a ?? "") < (b ?? "")
  }

  /// How one watch request ended.
  private enum WatchEnd: Sendable {
    /// The server ended the stream (its `timeoutSeconds`): watch again from this version.
    case ended(String)
    /// The connection broke mid-stream: watch again from this version.
    case broken(String, KubernetesError)
    /// List again: 410 Gone, or a new subscription.
    case relist
  }

  /// One watch request, from `start`.
  private func watchOnce(from start: String) async throws(KubernetesError) -> WatchEnd {
    let watch = Task { () async -> Result<WatchEnd, KubernetesError> in
      var resourceVersion = start
      var expired = false
      do throws(KubernetesError) {
        try await client.watch(namespace: namespace, resourceVersion: start, timeout: settings.watchTimeout) {
          event throws(KubernetesError) in
          switch event {
          case .added(let meta, let object), .modified(let meta, let object):
            receive(object, meta: meta)
            resourceVersion = meta.resourceVersion ?? resourceVersion
            state.withLock { $0.resourceVersion = resourceVersion }
          case .deleted(let meta):
            resourceVersion = meta.resourceVersion ?? resourceVersion
            state.withLock { state in
              if let uid = meta.uid ?? meta.name { state.delivered.remove(uid) }
              state.resourceVersion = resourceVersion
            }
          case .bookmark(let version):
            if !version.isEmpty { resourceVersion = version }
            state.withLock { $0.resourceVersion = resourceVersion }
          case .error(let status) where status.code == 410:
            expired = true
            return false
          case .error(let status):
            throw KubernetesError(
              .apiError, "the watch failed: \(status.code ?? 0) \(status.reason ?? ""): \(status.message ?? "")",
              status: status.code)
          }
          return true
        }
      } catch where error.status == 410 {
        expired = true
      } catch where error.code == .interrupted {
        return Task.isCancelled ? .success(.relist) : .success(.broken(resourceVersion, error))
      } catch {
        return .failure(error)
      }
      if expired {
        logger.info("the watch's resource version expired (410 Gone); listing again", metadata: ["resource_version": "\(resourceVersion)"])
        return .success(.relist)
      }
      return .success(Task.isCancelled ? .relist : .ended(resourceVersion))
    }
    // The server ends a watch after timeoutSeconds; a connection that silently died does not.
    let limit = settings.watchTimeout + .seconds(30)
    let watchdog = Task {
      try? await Task.sleep(for: limit)
      if !Task.isCancelled { watch.cancel() }
    }
    let relist = state.withLock { state in
      state.watch = watch
      return state.wanted != state.listed || state.closed
    }
    if relist { watch.cancel() }
    let end = await withTaskCancellationHandler { await watch.value } onCancel: { watch.cancel() }
    watchdog.cancel()
    state.withLock { $0.watch = nil }
    return try end.get()
  }

  /// Delivers one listed or watched object if it is new, well-formed and addressed to a
  /// subscription.
  private func receive(_ object: Result<SignalingEnvelopeObject, KubernetesError>, meta: ObjectMeta) {
    guard let uid = meta.uid ?? meta.name, !state.withLock({ $0.delivered.contains(uid) }) else { return }
    let envelope: Cunicu_Signaling_Envelope
    do { envelope = try object.get().envelope() } catch {
      invalid.add(1, ordering: .relaxed)
      state.withLock { _ = $0.delivered.insert(uid) }  // reported once
      logger.debug("ignored an object that is not an envelope", metadata: ["object": "\(meta.name ?? uid)", "error": "\(error)"])
      return
    }
    let wanted = state.withLock { state in
      guard let recipient = try? Key(bytes: envelope.recipient), state.subscriptions.contains(recipient) else { return false }
      return state.delivered.insert(uid).inserted
    }
    if wanted { sink.deliver(envelope) }
  }

  // MARK: - Cleanup

  private func cleanupLoop(every interval: Duration) async {
    while !Task.isCancelled {
      do {
        try await deleteOldEnvelopes()
      } catch {
        if Task.isCancelled { return }
        logger.warning("deleting old envelopes failed", metadata: ["error": "\(error)"])
      }
      try? await Task.sleep(for: interval)
    }
  }

  /// Deletes the namespace's envelopes created more than `max_age` ago; returns how many.
  @discardableResult
  public func deleteOldEnvelopes() async throws(KubernetesError) -> Int {
    let now = Date()
    let maxAge = Double(settings.maxAge.components.seconds) + Double(settings.maxAge.components.attoseconds) / 1e18
    let cutoff = now.addingTimeInterval(-maxAge)
    var deleted = 0
    for item in try await client.list(namespace: namespace).items {
      guard let meta = item.metadata, let name = meta.name, let created = meta.created, created < cutoff else { continue }
      if try await client.delete(name: name, namespace: namespace) { deleted += 1 }
    }
    if deleted > 0 { logger.debug("deleted old envelopes", metadata: ["count": "\(deleted)", "max_age": "\(settings.maxAge)"]) }
    return deleted
  }
}

extension BackendFactory {
  /// Makes this factory build `k8s://` backends.
  public mutating func registerKubernetes() {
    register(scheme: "k8s") { url, sink, logger in
      try KubernetesTransport(url: url, sink: sink, logger: logger)
    }
  }
}

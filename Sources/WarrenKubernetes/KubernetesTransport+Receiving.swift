internal import Synchronization
internal import Foundation
internal import Logging
internal import WarrenCrypto
internal import WarrenPrimitives
internal import WarrenSignaling
internal import WarrenWire

/// Receiving (docs/kubernetes.md): list, then watch from the list's resource version; a watch that
/// ends is resumed, `410 Gone` lists again; each object is delivered once (its UID remembered).
extension KubernetesTransport {
  func startTasks() {
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
  func receiveLoop() async {
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
            try? await clock.sleep(until: clock.now + settings.backoff.initial, tolerance: nil)
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
        try? await clock.sleep(until: clock.now + delay, tolerance: nil)
      }
    }
  }

  /// Lists the namespace, delivers what was not delivered yet (oldest first), forgets UIDs that
  /// are gone, wakes the subscribers waiting for this list, and returns its resource version.
  func listAndDeliver(listRound: Int) async throws(KubernetesError) -> String {
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
  static func order(_ a: String?, _ b: String?) -> Bool {
    if let a, let b, let x = UInt64(a), let y = UInt64(b) { return x < y }
    return (a ?? "") < (b ?? "")
  }

  /// How one watch request ended.
  enum WatchEnd: Sendable {
    /// The server ended the stream (its `timeoutSeconds`): watch again from this version.
    case ended(String)
    /// The connection broke mid-stream: watch again from this version.
    case broken(String, KubernetesError)
    /// List again: 410 Gone, or a new subscription.
    case relist
  }

  /// One watch request, from `start`.
  func watchOnce(from start: String) async throws(KubernetesError) -> WatchEnd {
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
      try? await clock.sleep(until: clock.now + limit, tolerance: nil)
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
  func receive(_ object: Result<SignalingEnvelopeObject, KubernetesError>, meta: ObjectMeta) {
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
}

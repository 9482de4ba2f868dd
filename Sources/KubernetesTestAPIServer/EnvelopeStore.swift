internal import WarrenPrimitives
internal import Foundation

/// The test API server's storage of `SignalingEnvelope` objects, with etcd's semantics where the
/// backend depends on them: one resource version counter for every change, an event history that
/// watches replay from a resource version, and compaction after which older versions are gone
/// (410 Gone).
final class EnvelopeStore: Sendable {
  /// One stored object: its JSON and what is indexed of it.
  struct Stored: Sendable {
    var json: Data
    var name: String
    var resourceVersion: Int
  }

  /// A change, as watches see it.
  struct Event: Sendable {
    var type: String
    var namespace: String
    var resourceVersion: Int
    var object: Data
  }

  /// Receives the events of one watch, in order.
  struct Watcher: Sendable {
    var namespace: String
    var send: @Sendable (Event) -> Void
  }

  enum Failure: Error {
    case alreadyExists(String)
    case notFound(String)
    case expired(requested: Int, oldest: Int)
  }

  private struct State {
    var resourceVersion = 1
    /// namespace → name → object
    var objects: [String: [String: Stored]] = [:]
    var history: [Event] = []
    /// The oldest resource version a watch may start from.
    var compacted = 1
    var watchers: [UUID: Watcher] = [:]
  }

  private let state = Locked(State())

  var resourceVersion: Int { state.withLock { $0.resourceVersion } }

  func list(namespace: String) -> (items: [Data], resourceVersion: Int) {
    state.withLock { state in
      let objects = (state.objects[namespace] ?? [:]).values.sorted { $0.name < $1.name }
      return (objects.map(\.json), state.resourceVersion)
    }
  }

  func get(namespace: String, name: String) -> Data? {
    state.withLock { $0.objects[namespace]?[name]?.json }
  }

  /// Stores a new object: `prepare` gets the resource version it will have and returns its JSON.
  func create(namespace: String, name: String, _ prepare: (Int) throws -> Data) throws -> Data {
    try state.withLock { state in
      guard state.objects[namespace]?[name] == nil else { throw Failure.alreadyExists(name) }
      let version = state.resourceVersion + 1
      let json = try prepare(version)
      state.resourceVersion = version
      state.objects[namespace, default: [:]][name] = Stored(json: json, name: name, resourceVersion: version)
      record(&state, Event(type: "ADDED", namespace: namespace, resourceVersion: version, object: json))
      return json
    }
  }

  /// Replaces an object: `change` gets the next resource version and the stored JSON and returns
  /// the new JSON (or throws to refuse). Watches see `MODIFIED`.
  func update(namespace: String, name: String, _ change: (Int, Data) throws -> Data) throws -> Data {
    try state.withLock { state in
      guard let stored = state.objects[namespace]?[name] else { throw Failure.notFound(name) }
      let version = state.resourceVersion + 1
      let json = try change(version, stored.json)
      state.resourceVersion = version
      state.objects[namespace]?[name] = Stored(json: json, name: name, resourceVersion: version)
      record(&state, Event(type: "MODIFIED", namespace: namespace, resourceVersion: version, object: json))
      return json
    }
  }

  /// Removes an object: `finalize` gets the deletion's resource version and the stored JSON and
  /// returns the JSON of the deleted object.
  func delete(namespace: String, name: String, _ finalize: (Int, Data) throws -> Data) throws -> Data {
    try state.withLock { state in
      guard let stored = state.objects[namespace]?[name] else { throw Failure.notFound(name) }
      let version = state.resourceVersion + 1
      let json = try finalize(version, stored.json)
      state.resourceVersion = version
      state.objects[namespace]?[name] = nil
      record(&state, Event(type: "DELETED", namespace: namespace, resourceVersion: version, object: json))
      return json
    }
  }

  /// Registers a watch from `resourceVersion` (`nil`: from now, after synthetic ADDED events for
  /// what exists). The replayed events are sent before any later one.
  func watch(namespace: String, from resourceVersion: Int?, _ watcher: Watcher) throws -> UUID {
    try state.withLock { state in
      if let resourceVersion {
        guard resourceVersion >= state.compacted - 1 else {
          throw Failure.expired(requested: resourceVersion, oldest: state.compacted)
        }
        for event in state.history where event.namespace == namespace && event.resourceVersion > resourceVersion {
          watcher.send(event)
        }
      } else {
        for object in (state.objects[namespace] ?? [:]).values.sorted(by: { $0.resourceVersion < $1.resourceVersion }) {
          watcher.send(Event(type: "ADDED", namespace: namespace, resourceVersion: object.resourceVersion, object: object.json))
        }
      }
      let id = UUID()
      state.watchers[id] = watcher
      return id
    }
  }

  func unwatch(_ id: UUID) {
    _ = state.withLock { $0.watchers.removeValue(forKey: id) }
  }

  /// Sends watch `id` a `BOOKMARK` at the current resource version, in order with its events.
  func bookmark(_ id: UUID) {
    state.withLock { state in
      let object = #"{"kind":"SignalingEnvelope","apiVersion":"cunicu.li/v1","metadata":{"resourceVersion":"\#(state.resourceVersion)","creationTimestamp":null}}"#
      state.watchers[id]?.send(Event(type: "BOOKMARK", namespace: "", resourceVersion: state.resourceVersion, object: Data(object.utf8)))
    }
  }

  /// Forgets the history: watches from any version before now get 410 Gone, as after etcd's
  /// compaction.
  func compact() {
    state.withLock { state in
      state.history = []
      state.compacted = state.resourceVersion + 1
    }
  }

  private func record(_ state: inout State, _ event: Event) {
    state.history.append(event)
    for watcher in state.watchers.values where watcher.namespace == event.namespace { watcher.send(event) }
  }
}

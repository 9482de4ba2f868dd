internal import WarrenPrimitives
public import WarrenCrypto
internal import WarrenWire

/// The meeting point of in-process backends: envelopes published by any backend of this hub reach
/// every backend of this hub that subscribed to the recipient. Backends in different hubs never see
/// each other, so tests in one process can run side by side. Nothing is stored: an envelope for a
/// key nobody subscribed to is dropped and counted.
public final class InProcessHub: Sendable {
  private struct Route {
    let owner: ObjectIdentifier
    let sink: any EnvelopeSink
  }

  private struct State {
    var routes: [Key: [Route]] = [:]
    var dropped = 0
  }

  private let state = Locked(State())

  public init() {}

  /// Envelopes published to a key that no backend of this hub subscribed to.
  public var droppedEnvelopes: Int { state.withLock { $0.dropped } }

  /// The keys some backend of this hub subscribed to.
  public var subscribedKeys: Set<Key> { state.withLock { Set($0.routes.keys) } }

  func add(_ key: Key, owner: ObjectIdentifier, sink: any EnvelopeSink) {
    state.withLock { state in
      if state.routes[key]?.contains(where: { $0.owner == owner }) == true { return }
      state.routes[key, default: []].append(Route(owner: owner, sink: sink))
    }
  }

  func remove(_ key: Key, owner: ObjectIdentifier) {
    state.withLock { state in
      state.routes[key]?.removeAll { $0.owner == owner }
      if state.routes[key]?.isEmpty == true { state.routes[key] = nil }
    }
  }

  func removeAll(owner: ObjectIdentifier) {
    state.withLock { state in
      for key in Array(state.routes.keys) {
        state.routes[key]?.removeAll { $0.owner == owner }
        if state.routes[key]?.isEmpty == true { state.routes[key] = nil }
      }
    }
  }

  /// Hands `envelope` to every subscribed backend; returns how many there were.
  @discardableResult
  func route(_ envelope: Cunicu_Signaling_Envelope) -> Int {
    let sinks: [any EnvelopeSink] = state.withLock { state in
      guard let recipient = try? Key(bytes: envelope.recipient), let routes = state.routes[recipient] else {
        state.dropped += 1
        return []
      }
      return routes.map(\.sink)
    }
    for sink in sinks { sink.deliver(envelope) }
    return sinks.count
  }
}

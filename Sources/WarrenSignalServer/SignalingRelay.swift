internal import WarrenPrimitives
public import WarrenCrypto
public import WarrenWire

/// The heart of `warren signal`: per-key topics that relay envelopes to live subscribers and store
/// nothing (wire.md, `Signaling.Publish`).
///
/// Where cunicu's relay is weak, this one is not:
/// - a topic is created and freed under one lock, when its first subscriber comes and its last
///   goes, so the map of topics never grows past the live subscriptions;
/// - each subscriber has a bounded queue; a subscriber that does not keep up loses its *oldest*
///   envelopes (counted), and never slows publishers or other subscribers;
/// - several subscriptions of one key (say, two processes) each receive every envelope.
public final class SignalingRelay: Sendable {
  /// Running totals, for metrics and logs.
  public struct Statistics: Sendable, Equatable {
    public var topics = 0
    public var subscriptions = 0
    public var published = 0
    public var publishedBytes = 0
    /// Envelopes queued for a subscriber.
    public var queued = 0
    /// Envelopes written to a subscriber's stream.
    public var delivered = 0
    public var deliveredBytes = 0
    /// Envelopes published to a key nobody subscribed to.
    public var droppedNoSubscriber = 0
    /// Envelopes pushed out of a slow subscriber's full queue.
    public var droppedQueueFull = 0
    /// Envelopes another replica of the cluster forwarded that had a subscriber here.
    public var fromCluster = 0
  }

  /// One subscription's envelopes, to be written to its stream. Ends when the subscription is
  /// removed or the relay shuts down.
  public typealias Queue = AsyncStream<Cunicu_Signaling_Envelope>

  /// A live subscription as an async sequence (the grpc-swift service's): its queue, and the way
  /// to end it (removing it from its topic).
  public struct Subscription: Sendable {
    public let envelopes: Queue
    private let continuation: Queue.Continuation

    init(envelopes: Queue, continuation: Queue.Continuation) {
      self.envelopes = envelopes
      self.continuation = continuation
    }

    /// Ends the subscription: iteration stops after what is queued, and the topic forgets it.
    public func end() { continuation.finish() }
  }

  /// Names a subscription made with a ``SubscriberSink``, to remove it.
  public struct SubscriptionID: Hashable, Sendable {
    let key: Key
    let number: UInt64
  }

  private struct Topic {
    var subscribers: [UInt64: any SubscriberSink] = [:]
  }

  private struct State {
    var topics: [Key: Topic] = [:]
    var nextID: UInt64 = 0
    var statistics = Statistics()
  }

  /// Envelopes a subscriber may have queued before the oldest are dropped.
  public let queueLimit: Int
  private let state = Locked(State())

  public init(queueLimit: Int = 256) {
    precondition(queueLimit > 0, "a subscriber queue holds at least one envelope")
    self.queueLimit = queueLimit
  }

  public var statistics: Statistics { state.withLock { $0.statistics } }

  /// Adds a subscription to `key` whose envelopes are read as an async sequence. It exists as
  /// soon as this returns: envelopes published after that are queued for it. Ending it, or
  /// dropping its queue, removes it.
  public func subscribe(_ key: Key) -> Subscription {
    let (queue, continuation) = Queue.makeStream(bufferingPolicy: .bufferingNewest(queueLimit))
    let id = subscribe(key, sink: StreamSink(continuation))
    continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
    return Subscription(envelopes: queue, continuation: continuation)
  }

  /// Adds a subscription to `key` whose envelopes are handed to `sink`, which keeps its own queue
  /// (bounded by ``queueLimit``). It exists as soon as this returns; ``unsubscribe(_:)`` removes it.
  public func subscribe(_ key: Key, sink: any SubscriberSink) -> SubscriptionID {
    state.withLock { state in
      let number = state.nextID
      state.nextID += 1
      if state.topics[key] == nil { state.statistics.topics += 1 }
      state.topics[key, default: Topic()].subscribers[number] = sink
      state.statistics.subscriptions += 1
      return SubscriptionID(key: key, number: number)
    }
  }

  /// Removes a subscription; its sink is handed nothing more. Removing one twice does nothing.
  public func unsubscribe(_ id: SubscriptionID) {
    state.withLock { state in
      guard state.topics[id.key]?.subscribers.removeValue(forKey: id.number) != nil else { return }
      state.statistics.subscriptions -= 1
      if state.topics[id.key]?.subscribers.isEmpty == true {
        state.topics[id.key] = nil
        state.statistics.topics -= 1
      }
    }
  }

  /// Queues `envelope` for every live subscription of `recipient`; returns how many there were.
  /// Never blocks: a full queue drops its oldest envelope instead.
  @discardableResult
  public func publish(_ envelope: Cunicu_Signaling_Envelope, to recipient: Key, size: Int) -> Int {
    let subscribers = state.withLock { state in
      state.statistics.published += 1
      state.statistics.publishedBytes += size
      let subscribers = state.topics[recipient].map { Array($0.subscribers.values) } ?? []
      if subscribers.isEmpty { state.statistics.droppedNoSubscriber += 1 }
      return subscribers
    }
    return enqueue(envelope, for: subscribers)
  }

  /// Queues an envelope that another replica of the cluster published (``ClusterBus``) for the
  /// live subscriptions of `recipient` here. Unlike ``publish(_:to:size:)`` it counts as neither
  /// published nor dropped when nobody here subscribed: every replica but the subscriber's hears it.
  @discardableResult
  public func deliverFromCluster(_ envelope: Cunicu_Signaling_Envelope, to recipient: Key) -> Int {
    let subscribers = state.withLock { state in
      let subscribers = state.topics[recipient].map { Array($0.subscribers.values) } ?? []
      if !subscribers.isEmpty { state.statistics.fromCluster += 1 }
      return subscribers
    }
    return enqueue(envelope, for: subscribers)
  }

  private func enqueue(_ envelope: Cunicu_Signaling_Envelope, for subscribers: [any SubscriberSink]) -> Int {
    var pushedOut = 0
    var queued = 0
    for sink in subscribers {
      switch sink.offer(envelope) {
      case .queued: queued += 1
      case .queuedPushingOutOldest: queued += 1; pushedOut += 1
      case .finished: break
      }
    }
    if queued > 0 {
      state.withLock { state in
        state.statistics.queued += queued
        state.statistics.droppedQueueFull += pushedOut
      }
    }
    return queued
  }

  /// Counts envelopes a sink pushed out of its full queue after it had taken them (a sink whose
  /// queue lives on another thread cannot say so in ``SubscriberSink/offer(_:)``).
  public func recordDroppedQueueFull(_ count: Int = 1) {
    state.withLock { $0.statistics.droppedQueueFull += count }
  }

  /// Counts an envelope written to a subscriber's stream.
  public func recordDelivery(size: Int) {
    state.withLock { state in
      state.statistics.delivered += 1
      state.statistics.deliveredBytes += size
    }
  }

  /// Ends every subscription (graceful shutdown): each stream finishes after its queued envelopes.
  public func finishAll() {
    let sinks = state.withLock { $0.topics.values.flatMap { $0.subscribers.values } }
    for sink in sinks { sink.finish() }
  }
}

internal import WarrenPrimitives
public import Logging
public import WarrenCrypto
public import WarrenWire

/// The handlers of one backend, by local key, shared by every transport: each received envelope is
/// opened once and handed to the subscribers of its sender and to the catch-all subscribers of its
/// recipient.
///
/// Nothing a remote party sends can make delivery fail: envelopes for keys nobody here subscribed
/// to, envelopes that do not open, and messages nobody listens for are dropped and counted.
public final class SubscriptionRegistry: EnvelopeSink, Sendable {
  /// What happened to received envelopes, for logs, status and metrics.
  public struct Counters: Sendable, Equatable {
    /// Messages handed to at least one subscriber.
    public var delivered = 0
    /// Envelopes whose recipient has no subscription here.
    public var droppedUnknownRecipient = 0
    /// Envelopes that did not open (bad keys, nonce, tag or plaintext).
    public var droppedUnopenable = 0
    /// Opened messages from a sender nobody subscribed to.
    public var droppedNoSubscriber = 0
    /// Messages a subscriber's full buffer could not take.
    public var droppedOverflow = 0
  }

  private struct Subscriber {
    /// `nil` for catch-all subscriptions.
    let sender: Key?
    let continuation: AsyncStream<OpenedEnvelope>.Continuation
  }

  private struct LocalKey {
    let privateKey: PrivateKey
    var subscribers: [UInt64: Subscriber] = [:]
  }

  private struct State {
    var localKeys: [Key: LocalKey] = [:]
    var nextID: UInt64 = 0
    var counters = Counters()
    var closed = false
  }

  private let sealer: EnvelopeSealer
  private let bufferLimit: Int
  private let logger: Logger
  private let state = Locked(State())

  /// - Parameters:
  ///   - bufferLimit: messages buffered per subscriber that is not reading; beyond it the oldest
  ///     are kept and new ones are dropped and counted.
  public init(sealer: EnvelopeSealer = EnvelopeSealer(), bufferLimit: Int = 1024, logger: Logger) {
    self.sealer = sealer
    self.bufferLimit = bufferLimit
    self.logger = logger
  }

  public var counters: Counters { state.withLock { $0.counters } }

  /// The local public keys that have at least one subscription.
  public var localKeys: Set<Key> { state.withLock { Set($0.localKeys.keys) } }

  /// Adds a subscription of `ours` to messages from `sender` (every sender if `nil`).
  ///
  /// - Parameter onLastRemoved: called with our public key when this subscription ends and was
  ///   the last one for that key, so that the transport can drop its server-side subscription.
  /// - Returns: the subscription, or `nil` once the registry is closed.
  func add(
    ours: PrivateKey, sender: Key?, onLastRemoved: @escaping @Sendable (Key) -> Void
  ) -> SignalingSubscription? {
    let (stream, continuation) = AsyncStream.makeStream(
      of: OpenedEnvelope.self, bufferingPolicy: .bufferingOldest(bufferLimit))
    let added: UInt64? = state.withLock { state in
      guard !state.closed else { return nil }
      let id = state.nextID
      state.nextID += 1
      state.localKeys[ours.publicKey, default: LocalKey(privateKey: ours)]
        .subscribers[id] = Subscriber(sender: sender, continuation: continuation)
      return id
    }
    guard let id = added else { return nil }
    continuation.onTermination = { [weak self] _ in
      self?.remove(id: id, local: ours.publicKey, onLastRemoved: onLastRemoved)
    }
    return SignalingSubscription(stream: stream, continuation: continuation)
  }

  private func remove(id: UInt64, local: Key, onLastRemoved: @Sendable (Key) -> Void) {
    // The transport is told while the lock is held, so a new first subscription for the same key
    // cannot slip in between "last one gone" and the transport's unsubscribe.
    state.withLock { state in
      guard state.localKeys[local]?.subscribers.removeValue(forKey: id) != nil else { return }
      if state.localKeys[local]?.subscribers.isEmpty == true {
        state.localKeys[local] = nil
        onLastRemoved(local)
      }
    }
  }

  /// Whether a subscription for `local` still exists.
  func isSubscribed(_ local: Key) -> Bool {
    state.withLock { $0.localKeys[local] != nil }
  }

  /// Opens `envelope` once and hands the message to its subscribers.
  public func deliver(_ envelope: Cunicu_Signaling_Envelope) {
    guard let recipient = try? Key(bytes: envelope.recipient),
      let privateKey = state.withLock({ $0.localKeys[recipient]?.privateKey })
    else {
      state.withLock { $0.counters.droppedUnknownRecipient += 1 }
      logger.trace(
        "dropped an envelope for a key with no subscription here",
        metadata: ["recipient": "\((try? Key(bytes: envelope.recipient)).map(\.base64) ?? "\(envelope.recipient.count) bytes")"])
      return
    }
    let opened: OpenedEnvelope
    do {
      opened = try sealer.open(envelope, as: privateKey)
    } catch {
      state.withLock { $0.counters.droppedUnopenable += 1 }
      logger.debug(
        "dropped an envelope that does not open", metadata: ["recipient": "\(recipient)", "error": "\(error)"])
      return
    }
    let targets: [AsyncStream<OpenedEnvelope>.Continuation] = state.withLock { state in
      let subscribers = state.localKeys[recipient]?.subscribers.values ?? [:].values
      let matching = subscribers.filter { $0.sender == nil || $0.sender == opened.sender }.map(\.continuation)
      if matching.isEmpty { state.counters.droppedNoSubscriber += 1 } else { state.counters.delivered += 1 }
      return matching
    }
    if targets.isEmpty {
      logger.debug(
        "dropped a message from a sender nobody subscribed to",
        metadata: ["sender": "\(opened.sender)", "recipient": "\(recipient)"])
    }
    var overflowed = 0
    for continuation in targets {
      if case .dropped = continuation.yield(opened) { overflowed += 1 }
    }
    if overflowed > 0 {
      state.withLock { $0.counters.droppedOverflow += overflowed }
      logger.warning(
        "a subscriber is not reading: dropped a message",
        metadata: ["sender": "\(opened.sender)", "recipient": "\(recipient)"])
    }
  }

  /// Ends every subscription and refuses new ones.
  func close() {
    let continuations = state.withLock { state in
      state.closed = true
      return state.localKeys.values.flatMap { $0.subscribers.values.map(\.continuation) }
    }
    for continuation in continuations { continuation.finish() }
  }
}

public import Logging
public import WarrenCrypto
public import WarrenPrimitives
public import WarrenWire

/// A ``SignalingBackend`` made of a transport that moves envelopes and a ``SubscriptionRegistry``
/// that seals, opens and fans them out. Every backend the factory builds is one of these.
public final class TransportBackend: SignalingBackend {
  public let transport: any EnvelopeTransport
  public let registry: SubscriptionRegistry
  private let sealer: EnvelopeSealer
  private let logger: Logger
  private let closed = Locked(false)
  private let publishCounts = Locked((published: 0, failed: 0))

  /// Envelopes published, and publishes that failed (sealing or the transport).
  public var publishCounters: (published: Int, failed: Int) { publishCounts.withLock { $0 } }

  public var type: BackendType { transport.type }

  /// - Parameters:
  ///   - registry: must be the sink `transport` delivers to.
  public init(transport: any EnvelopeTransport, registry: SubscriptionRegistry, sealer: EnvelopeSealer, logger: Logger) {
    self.transport = transport
    self.registry = registry
    self.sealer = sealer
    self.logger = logger
  }

  public func reconnect(ifBoundTo ips: Set<TransportAddress.IP>?) {
    transport.reconnect(ifBoundTo: ips)
  }

  public func prepare() async {
    await transport.prepare()
  }

  public func publish(_ message: Cunicu_Signaling_Message, keys: KeyPair) async throws {
    try checkOpen()
    let envelope: Cunicu_Signaling_Envelope
    do {
      envelope = try sealer.seal(message, keys: keys)
    } catch {
      publishCounts.withLock { $0.failed += 1 }
      throw SignalingError(.sealingFailed, "cannot seal a message to \(keys.theirs): \(error.message)", causes: [error])
    }
    do {
      try await transport.publish(envelope)
      publishCounts.withLock { $0.published += 1 }
    } catch {
      publishCounts.withLock { $0.failed += 1 }
      throw error
    }
  }

  public func subscribe(_ keys: KeyPair) async throws -> SignalingSubscription {
    try await add(ours: keys.ours, sender: keys.theirs)
  }

  public func subscribeAll(_ ours: PrivateKey) async throws -> SignalingSubscription {
    try await add(ours: ours, sender: nil)
  }

  private func add(ours: PrivateKey, sender: Key?) async throws -> SignalingSubscription {
    try checkOpen()
    let transport = self.transport
    guard
      let subscription = registry.add(ours: ours, sender: sender, onLastRemoved: { transport.unsubscribe($0) })
    else { throw SignalingError(.closed, "the \(type) backend is closed") }
    do {
      try await transport.subscribe(ours)
    } catch {
      subscription.cancel()
      throw error
    }
    // Cancelled while the transport was subscribing: make sure no server-side subscription stays.
    if !registry.isSubscribed(ours.publicKey) { transport.unsubscribe(ours.publicKey) }
    return subscription
  }

  public func close() async {
    guard closed.withLock({ closed in defer { closed = true }; return !closed }) else { return }
    registry.close()
    await transport.close()
    logger.debug("signaling backend closed", metadata: ["backend": "\(type)"])
  }

  private func checkOpen() throws(SignalingError) {
    if closed.withLock({ $0 }) { throw SignalingError(.closed, "the \(type) backend is closed") }
  }
}

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
public import Logging
public import WarrenCrypto
public import WarrenPrimitives
public import WarrenSignaling
public import WarrenWire
internal import WarrenWireGRPC

/// The transport of the `grpc://` backend: a client of a `cunicu.signaling.Signaling` server
/// (`warren signal` or cunicu's), or of one replica at a time of a clustered `warren signal`.
///
/// Each local key has one Subscribe stream, shared by all its handlers; ``subscribe(_:)`` returns
/// once the server's marker envelope arrived, so a publish that follows cannot race the
/// subscription. A stream that breaks (server restart, network loss) is re-established, forever,
/// and logged; removing the key's last handler cancels it. Which replica it is made on, and when,
/// is ``ReplicaFailover``'s decision: the same replica while it works, the next one at once when
/// it fails, back-off after a whole round of failures. Publishes go to the same replica.
///
/// Every Subscribe carries a fresh proof of key possession when the server reads them (its key
/// pinned in the URL, or named by the server: ``ProofMaker``); cunicu's server gets none.
public final class GRPCTransport: EnvelopeTransport {
  /// How long a publish may take before it fails with `DEADLINE_EXCEEDED`.
  public static let publishTimeout: Duration = .seconds(5)
  /// How long a publish waits for its sender's subscription to be made again.
  static let resubscribeWait: Duration = .seconds(2)

  /// One replica's gRPC client and the task that runs its connection (made at the first call).
  private struct ReplicaClient: Sendable {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let signaling: Cunicu_Signaling_Signaling.Client<HTTP2ClientTransport.Posix>
    let connections: Task<Void, Never>
  }

  private let endpoint: GRPCEndpoint
  private let clock: any MonotonicClock
  private let replicas: [ReplicaClient]
  private let failover: Locked<ReplicaFailover>
  private let sink: any EnvelopeSink
  private let backoff: ReconnectBackoff
  private let logger: Logger
  private let proofs: ProofMaker
  /// The subscriptions by key, whether ``close()`` was called, and when ``reconnect(ifBoundTo:)``
  /// last closed connections: one lock, never held while another is taken.
  private let state = Locked(State())
  /// Every replica's TCP connections, to close the ones a network change left behind.
  private let connections = ConnectionRegistry()

  private struct State {
    var streams: [Key: SubscriptionStream] = [:]
    var closed = false
    /// When ``reconnect(ifBoundTo:)`` last closed connections: subscriptions that break right
    /// after are made again at once, waiting for the new connection, without a back-off.
    var reconnectedAt: ContinuousClock.Instant?
  }

  public var type: BackendType { .grpc }

  public init(
    endpoint: GRPCEndpoint, sink: any EnvelopeSink, backoff: ReconnectBackoff = ReconnectBackoff(),
    handoverSpread: Duration = ReplicaFailover.defaultHandoverSpread, logger: Logger, clock: any MonotonicClock = ContinuousClock()
  ) throws {
    self.clock = clock
    self.endpoint = endpoint
    self.sink = sink
    self.backoff = backoff
    var logger = logger
    logger[metadataKey: "server"] = "\(endpoint)"
    self.logger = logger
    proofs = ProofMaker(pinned: endpoint.serverKey, logger: logger)
    let connections = self.connections
    let config = HTTP2ClientTransport.Posix.Config.defaults { config in
      config.channelDebuggingCallbacks.onCreateTCPConnection = { channel in connections.register(channel) }
      config.backoff = .init(initial: .milliseconds(100), max: .seconds(5), multiplier: 1.6, jitter: 0.2)
      // A subscription only receives: without pings, a connection a NAT forgot would look
      // healthy until the next publish. warren signal allows pings every 10 s or more.
      config.connection.keepalive = .init(time: .seconds(30), timeout: .seconds(10), allowWithoutCalls: true)
    }
    var replicas: [ReplicaClient] = []
    for replica in endpoint.replicas {
      let client = GRPCClient(transport: try endpoint.makeTransport(to: replica, config: config))
      let connections = Task { [logger] in
        do {
          try await client.runConnections()
        } catch {
          logger.error("gRPC client stopped", metadata: ["replica": "\(replica)", "error": "\(error)"])
        }
      }
      replicas.append(
        ReplicaClient(client: client, signaling: Cunicu_Signaling_Signaling.Client(wrapping: client), connections: connections))
    }
    self.replicas = replicas
    var random = SystemRandomNumberGenerator()
    failover = Locked(ReplicaFailover(replicas: replicas.count, handoverSpread: handoverSpread, random: &random))
  }

  public func subscribe(_ ours: PrivateKey) async throws {
    let key = ours.publicKey
    let stream: SubscriptionStream = try state.withLock { state in
      if state.closed { throw SignalingError(.closed, "the grpc backend for \(endpoint) is closed") }
      if let stream = state.streams[key] { return stream }
      let stream = SubscriptionStream { [self] ready, live in await self.maintain(ours, ready: ready, live: live) }
      state.streams[key] = stream
      return stream
    }
    try await stream.ready.wait()
  }

  public func unsubscribe(_ key: Key) {
    state.withLock { $0.streams.removeValue(forKey: key) }?.cancel()
  }

  /// Publishes on the current replica; one that is unavailable hands over to the next, until every
  /// replica was tried once.
  public func publish(_ envelope: Cunicu_Signaling_Envelope) async throws {
    if state.withLock({ $0.closed }) { throw SignalingError(.closed, "the grpc backend for \(endpoint) is closed") }
    // While the sender's own subscription is being made again (its connection broke, or a network
    // change closed it), the answer to this envelope would find nobody subscribed and be lost:
    // the publish waits for it, a little.
    if let sender = try? Key(bytes: envelope.sender), let stream = state.withLock({ $0.streams[sender] }), !stream.live.isLive {
      _ = await stream.live.wait(timeout: Self.resubscribeWait, clock: clock)
    }
    var options = CallOptions.defaults
    options.timeout = Self.publishTimeout
    var replica = failover.withLock { $0.current }
    for attempt in 1...replicas.count {
      do {
        _ = try await replicas[replica].signaling.publish(envelope, options: options)
        failover.withLock { $0.succeeded(on: replica) }
        return
      } catch let error as RPCError where error.code == .unavailable {
        let next = failed(on: replica).replica
        guard attempt < replicas.count else { throw error }
        logger.info(
          "publish failed on a replica; publishing on the next",
          metadata: ["replica": "\(endpoint.replicas[replica])", "next_replica": "\(endpoint.replicas[next])", "error": "\(error)"])
        replica = next
      }
    }
  }

  /// Closes the connections bound to one of `ips` (all with `nil`); grpc-swift dials again at
  /// once, and each broken subscription is made again on it (``ReplicaFailover``).
  /// Connects to the current replica and learns the server's key (GetBuildInfo), which the first
  /// subscription's proof needs: that round trip then no longer delays it.
  public func prepare() async {
    let signaling = replicas[failover.withLock { $0.current }].signaling
    await proofs.learnIfUnknown { try await ProofMaker.askServerKey(signaling, timeout: Self.publishTimeout) }
  }

  public func reconnect(ifBoundTo ips: Set<TransportAddress.IP>?) {
    let now = clock.now
    state.withLock { $0.reconnectedAt = now }
    let closed = connections.close(boundTo: ips)
    if closed > 0 {
      logger.notice(
        "closed signaling connections left behind by a network change; dialing again",
        metadata: ["connections": "\(closed)", "addresses": "\(ips.map { "\($0.map { "\($0)" }.sorted())" } ?? "all")"])
    }
  }

  public func close() async {
    let all: [SubscriptionStream]? = state.withLock { state in
      guard !state.closed else { return nil }
      state.closed = true
      defer { state.streams = [:] }
      return Array(state.streams.values)
    }
    guard let all else { return }
    for stream in all { stream.cancel() }
    for stream in all { await stream.finished() }
    for replica in replicas { replica.client.beginGracefulShutdown() }
    for replica in replicas { await replica.connections.value }
  }

  private func failed(on replica: Int) -> ReplicaFailover.Next {
    var random = SystemRandomNumberGenerator()
    let now = clock.now
    return failover.withLock { $0.failed(on: replica, at: now, backoff: backoff, random: &random) }
  }

  /// Keeps a Subscribe stream for `ours.publicKey` open until cancelled.
  private func maintain(_ ours: PrivateKey, ready: ReadySignal, live: LiveFlag) async {
    let key = ours.publicKey
    var request = Cunicu_Signaling_SubscribeParams()
    request.key = Data(key.bytes)
    var replica = failover.withLock { $0.current }
    var options = CallOptions.defaults
    while !Task.isCancelled {
      defer { live.set(false) }
      let attempt = options
      options.waitForReady = nil
      let sawMarker = Locked(false)
      let signaling = replicas[replica].signaling
      var metadata: Logger.Metadata = ["key": "\(key)"]
      if replicas.count > 1 { metadata["replica"] = "\(endpoint.replicas[replica])" }
      let next: ReplicaFailover.Next
      do {
        let proof = await proofs.metadata(for: ours, purpose: .subscribe) {
          try await ProofMaker.askServerKey(signaling, timeout: Self.publishTimeout)
        }
        try await signaling.subscribe(request, metadata: proof, options: attempt) { [self, replica, metadata] response in
          for try await envelope in response.messages {
            if sawMarker.withLock({ seen in defer { seen = true }; return !seen }) {
              self.failover.withLock { $0.succeeded(on: replica) }
              live.set(true)
              ready.signal()
              self.logger.debug("subscribed", metadata: metadata)
              // cunicu's marker is empty; a server that sends a real envelope first still counts.
              if envelope == Cunicu_Signaling_Envelope() { continue }
            }
            self.sink.deliver(envelope)
          }
        }
        if Task.isCancelled { break }
        next = failed(on: replica)
        logger.info("subscription stream ended by the server; subscribing again", metadata: log(metadata, next))
      } catch {
        if Task.isCancelled { break }
        // A refusal names the server's key: a server that began to ask for proofs, or restarted
        // with a new key. A key learned this way is tried at once, on the same replica.
        if let refusal = error as? RPCError, refusal.code == .unauthenticated,
          proofs.learn(ProofMaker.serverKey(in: refusal.metadata), from: "a refusal"), !sawMarker.withLock({ $0 })
        {
          logger.info("the server asks for a proof under another key; subscribing again with it", metadata: log(metadata, nil))
          continue
        }
        if let at = state.withLock({ $0.reconnectedAt }), clock.now - at < .seconds(2) {
          // Closed on purpose a moment ago: subscribe again at once on the same replica, and let
          // the call wait for the new connection rather than fail while it is being made.
          options.waitForReady = true
          logger.debug("subscription stream closed by a reconnect; subscribing again", metadata: metadata)
          continue
        }
        next = failed(on: replica)
        metadata["error"] = "\(error)"
        logger.log(
          level: sawMarker.withLock({ $0 }) || next.failures == 1 ? .warning : .debug, "subscription stream failed; subscribing again",
          metadata: log(metadata, next))
      }
      do {
        try await clock.sleep(until: next.at, tolerance: nil)
      } catch {
        break
      }
      replica = next.replica
    }
  }

  /// Log metadata for a stream's next attempt: where (with several replicas) and when.
  private func log(_ metadata: Logger.Metadata, _ next: ReplicaFailover.Next?) -> Logger.Metadata {
    var result = metadata
    if let next {
      result["attempt"] = "\(next.failures)"
      if replicas.count > 1 { result["next_replica"] = "\(endpoint.replicas[next.replica])" }
    }
    return result
  }
}

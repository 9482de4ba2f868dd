#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
public import Logging
internal import Synchronization
public import WarrenCrypto
public import WarrenSignaling
public import WarrenWire
internal import WarrenWireGRPC

/// The transport of the `grpc://` backend: a client of a `cunicu.signaling.Signaling` server
/// (`warren signal` or cunicu's).
///
/// Each local key has one Subscribe stream, shared by all its handlers; ``subscribe(_:)`` returns
/// once the server's marker envelope arrived, so a publish that follows cannot race the
/// subscription. A stream that breaks (server restart, network loss) is re-established with
/// exponential back-off, forever, and logged; removing the key's last handler cancels it.
///
/// Every Subscribe carries a fresh proof of key possession when the server reads them (its key
/// pinned in the URL, or named by the server: ``ProofMaker``); cunicu's server gets none.
public final class GRPCTransport: EnvelopeTransport {
  /// How long a publish may take before it fails with `DEADLINE_EXCEEDED`.
  public static let publishTimeout: Duration = .seconds(5)

  private let endpoint: GRPCEndpoint
  private let client: GRPCClient<HTTP2ClientTransport.Posix>
  private let signaling: Cunicu_Signaling_Signaling.Client<HTTP2ClientTransport.Posix>
  private let sink: any EnvelopeSink
  private let backoff: ReconnectBackoff
  private let logger: Logger
  private let connections: Task<Void, Never>
  private let proofs: ProofMaker
  private let streams = Mutex<[Key: SubscriptionStream]>([:])
  private let closed = Mutex(false)

  public var type: BackendType { .grpc }

  public init(
    endpoint: GRPCEndpoint, sink: any EnvelopeSink, backoff: ReconnectBackoff = ReconnectBackoff(), logger: Logger
  ) throws {
    self.endpoint = endpoint
    self.sink = sink
    self.backoff = backoff
    var logger = logger
    logger[metadataKey: "server"] = "\(endpoint)"
    self.logger = logger
    proofs = ProofMaker(pinned: endpoint.serverKey, logger: logger)
    let transport = try endpoint.makeTransport(
      config: .defaults { config in
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(5), multiplier: 1.6, jitter: 0.2)
        // A subscription only receives: without pings, a connection a NAT forgot would look
        // healthy until the next publish. warren signal allows pings every 10 s or more.
        config.connection.keepalive = .init(time: .seconds(30), timeout: .seconds(10), allowWithoutCalls: true)
      })
    let client = GRPCClient(transport: transport)
    self.client = client
    signaling = Cunicu_Signaling_Signaling.Client(wrapping: client)
    connections = Task { [logger] in
      do {
        try await client.runConnections()
      } catch {
        logger.error("gRPC client stopped", metadata: ["error": "\(error)"])
      }
    }
  }

  public func subscribe(_ ours: PrivateKey) async throws {
    let key = ours.publicKey
    let stream: SubscriptionStream = try streams.withLock { streams in
      if closed.withLock({ $0 }) { throw SignalingError(.closed, "the grpc backend for \(endpoint) is closed") }
      if let stream = streams[key] { return stream }
      let stream = SubscriptionStream { [self] ready in await self.maintain(ours, ready: ready) }
      streams[key] = stream
      return stream
    }
    try await stream.ready.wait()
  }

  public func unsubscribe(_ key: Key) {
    streams.withLock { $0.removeValue(forKey: key) }?.cancel()
  }

  public func publish(_ envelope: Cunicu_Signaling_Envelope) async throws {
    if closed.withLock({ $0 }) { throw SignalingError(.closed, "the grpc backend for \(endpoint) is closed") }
    var options = CallOptions.defaults
    options.timeout = Self.publishTimeout
    _ = try await signaling.publish(envelope, options: options)
  }

  public func close() async {
    guard closed.withLock({ closed in defer { closed = true }; return !closed }) else { return }
    let all = streams.withLock { streams in defer { streams = [:] }; return Array(streams.values) }
    for stream in all { stream.cancel() }
    for stream in all { await stream.finished() }
    client.beginGracefulShutdown()
    await connections.value
  }

  /// Keeps a Subscribe stream for `ours.publicKey` open until cancelled.
  private func maintain(_ ours: PrivateKey, ready: ReadySignal) async {
    let key = ours.publicKey
    var request = Cunicu_Signaling_SubscribeParams()
    request.key = Data(key.bytes)
    var failures = 0
    while !Task.isCancelled {
      let sawMarker = Mutex(false)
      do {
        let metadata = await proofs.metadata(for: ours, purpose: .subscribe) {
          try await ProofMaker.askServerKey(self.signaling, timeout: Self.publishTimeout)
        }
        try await signaling.subscribe(request, metadata: metadata) { [sink, logger] response in
          for try await envelope in response.messages {
            if sawMarker.withLock({ seen in defer { seen = true }; return !seen }) {
              ready.signal()
              logger.debug("subscribed", metadata: ["key": "\(key)"])
              // cunicu's marker is empty; a server that sends a real envelope first still counts.
              if envelope == Cunicu_Signaling_Envelope() { continue }
            }
            sink.deliver(envelope)
          }
        }
        if Task.isCancelled { break }
        failures = 0
        logger.info("subscription stream ended by the server; subscribing again", metadata: ["key": "\(key)"])
      } catch {
        if Task.isCancelled { break }
        // A refusal names the server's key: a server that began to ask for proofs, or restarted
        // with a new key. A key learned this way is tried at once, without back-off.
        if let refusal = error as? RPCError, refusal.code == .unauthenticated,
          proofs.learn(ProofMaker.serverKey(in: refusal.metadata), from: "a refusal"), !sawMarker.withLock({ $0 })
        {
          logger.info("the server asks for a proof under another key; subscribing again with it", metadata: ["key": "\(key)"])
          continue
        }
        // A stream that had been working counts as the first failure of a new series.
        failures = sawMarker.withLock { $0 } ? 1 : failures + 1
        let level: Logger.Level = failures == 1 ? .warning : .debug
        logger.log(
          level: level, "subscription stream failed; retrying with back-off",
          metadata: ["key": "\(key)", "attempt": "\(failures)", "error": "\(error)"])
      }
      do {
        try await Task.sleep(for: backoff.delay(afterFailures: failures))
      } catch {
        break
      }
    }
  }
}

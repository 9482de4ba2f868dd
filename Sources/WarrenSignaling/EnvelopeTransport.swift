public import WarrenCrypto
public import WarrenPrimitives
public import WarrenWire

/// Where a transport hands the envelopes it receives: in practice a ``SubscriptionRegistry``.
public protocol EnvelopeSink: Sendable {
  /// Takes one received envelope. Never throws and never blocks: a bad envelope is dropped and
  /// counted, so one peer's garbage cannot disturb the others.
  func deliver(_ envelope: Cunicu_Signaling_Envelope)
}

/// The part of a backend that moves sealed envelopes: gRPC, the Kubernetes API, multicast or an
/// in-process hub. Sealing, opening and fan-out to handlers are shared by all transports in
/// ``TransportBackend``.
public protocol EnvelopeTransport: Sendable {
  var type: BackendType { get }

  /// Starts receiving envelopes addressed to `ours.publicKey`, and returns once they will be
  /// received (for gRPC: once the server's marker envelope has arrived). Idempotent. The private
  /// key is there for transports whose server asks the subscriber to prove it holds it (gRPC).
  func subscribe(_ ours: PrivateKey) async throws

  /// Stops receiving envelopes addressed to `key`.
  func unsubscribe(_ key: Key)

  /// Sends one envelope.
  func publish(_ envelope: Cunicu_Signaling_Envelope) async throws

  /// Releases the transport's resources.
  func close() async

  /// Closes and makes anew the connections bound to one of `ips` (all with `nil`): see
  /// ``SignalingBackend/reconnect(ifBoundTo:)``.
  func reconnect(ifBoundTo ips: Set<TransportAddress.IP>?)

  /// See ``SignalingBackend/prepare()``.
  func prepare() async
}

extension EnvelopeTransport {
  /// Transports without long-lived connections (multicast, in-process) have nothing to do.
  public func reconnect(ifBoundTo ips: Set<TransportAddress.IP>?) {}
  public func prepare() async {}
}

public import WarrenCrypto
public import WarrenPrimitives
public import WarrenWire

/// Which backend a status line refers to (wire.md's local `BackendType`).
public typealias BackendType = Cunicu_Signaling_BackendType

/// A signaling backend: carries sealed envelopes between public keys (session.md, "Signaling
/// exchange"). It must deliver reliably, may deliver out of order, may drop envelopes for
/// recipients it does not know yet, and never stores envelopes.
///
/// Every message arriving through a backend has been opened and authenticated; handlers see the
/// sender's public key and the message. A message published on several backends (see
/// ``MultiTransport``) may arrive more than once: handlers must be idempotent.
public protocol SignalingBackend: Sendable {
  /// Which backend this is.
  var type: BackendType { get }

  /// Seals `message` from `keys.ours` to `keys.theirs` and sends it.
  func publish(_ message: Cunicu_Signaling_Message, keys: KeyPair) async throws

  /// Delivers every message that `keys.theirs` sends to `keys.ours`, from the moment this returns
  /// until the subscription is cancelled.
  func subscribe(_ keys: KeyPair) async throws -> SignalingSubscription

  /// Delivers every message sent to `ours`, whoever sent it.
  func subscribeAll(_ ours: PrivateKey) async throws -> SignalingSubscription

  /// Releases everything: ends every subscription, and makes later calls throw ``SignalingError``
  /// with code `.closed`.
  func close() async

  /// This host lost the addresses `ips` (its network changed): connections made from one of them
  /// can never deliver again, so they are closed and made anew at once rather than after the
  /// minutes a silent connection takes to time out. With `nil`, every connection is made anew
  /// (the process was suspended long enough for NATs to forget them).
  func reconnect(ifBoundTo ips: Set<TransportAddress.IP>?)

  /// Does now what the first subscription would wait for (a connection, the server's key for
  /// proofs), so that it goes out at once when it comes: a member that announces only once
  /// (cunicu, at its start) is heard only by those already subscribed.
  func prepare() async
}

extension SignalingBackend {
  /// Backends without long-lived connections have nothing to do.
  public func reconnect(ifBoundTo ips: Set<TransportAddress.IP>?) {}
  public func prepare() async {}
}

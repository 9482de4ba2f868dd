#if canImport(FoundationEssentials)
  internal import FoundationEssentials
#else
  internal import Foundation
#endif
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
internal import Logging
internal import WarrenCrypto
internal import WarrenSignaling
internal import WarrenPrimitives
internal import WarrenWire
internal import WarrenWireGRPC

/// Asks a signaling server's RelayRegistry (wire.md: `grpc://…` in the ICE URL list) for the
/// STUN/TURN servers and credentials it hands to a key. Registered on a ``BackendFactory`` by
/// ``BackendFactory/registerGRPC(backoff:)``.
enum RelayRegistryClient {
  /// The relays for `key` from the registry at `url` (a `grpc://` URL, as for the backend), with
  /// a proof that we hold `key` when the server reads proofs; gives up after `timeout`. With a
  /// list of replicas it asks one at random, and the next when one is unavailable.
  static func fetch(url: BackendURL, key: PrivateKey, timeout: Duration, logger: Logger) async throws -> [RegisteredRelay] {
    let endpoint = try GRPCEndpoint(url)
    var random = SystemRandomNumberGenerator()
    var failover = ReplicaFailover(replicas: endpoint.replicas.count, random: &random)
    let deadline = ContinuousClock.now + timeout
    while true {
      let replica = failover.current
      do {
        return try await fetch(from: endpoint, replica: endpoint.replicas[replica], key: key, deadline: deadline, logger: logger)
      } catch let error as RPCError where error.code == .unavailable {
        let next = failover.failed(on: replica, at: .now, backoff: ReconnectBackoff(), random: &random)
        // One round: every replica was asked once.
        guard next.failures < endpoint.replicas.count, ContinuousClock.now < deadline else { throw error }
        logger.info(
          "relay registry unavailable on a replica; asking the next",
          metadata: ["replica": "\(endpoint.replicas[replica])", "next_replica": "\(endpoint.replicas[next.replica])"])
      }
    }
  }

  private static func fetch(
    from endpoint: GRPCEndpoint, replica: GRPCEndpoint.Replica, key: PrivateKey, deadline: ContinuousClock.Instant,
    logger: Logger
  ) async throws -> [RegisteredRelay] {
    let transport = try endpoint.makeTransport(to: replica)
    return try await withGRPCClient(transport: transport) { client in
      var params = Cunicu_Signaling_GetRelaysParams()
      params.publicKey = Data(key.publicKey.bytes)
      let timeout = max(.zero, deadline - .now)
      var options = CallOptions.defaults
      options.timeout = timeout
      let proofs = ProofMaker(pinned: endpoint.serverKey, logger: logger)
      let metadata = await proofs.metadata(for: key, purpose: .getRelays) {
        try await ProofMaker.askServerKey(Cunicu_Signaling_Signaling.Client(wrapping: client), timeout: timeout)
      }
      let response = try await Cunicu_Signaling_RelayRegistry.Client(wrapping: client).getRelays(
        params, metadata: metadata, options: options)
      // The registry's expiry is wall-clock time; it becomes a deadline on the monotonic clock.
      let nowSeconds = Double(WallClock.unixNanoseconds) / 1e9
      let now = ContinuousClock.now
      return response.relays.map { info in
        var relay = RegisteredRelay(url: info.url, username: info.username, password: info.password)
        if info.hasExpires {
          let remaining = Double(info.expires.seconds) + Double(info.expires.nanos) / 1e9 - nowSeconds
          relay.expires = now + .seconds(max(0, remaining))
        }
        return relay
      }
    }
  }
}

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
internal import WarrenWire
internal import WarrenWireGRPC

/// Asks a signaling server's RelayRegistry (wire.md: `grpc://…` in the ICE URL list) for the
/// STUN/TURN servers and credentials it hands to a key. Registered on a ``BackendFactory`` by
/// ``BackendFactory/registerGRPC(backoff:)``.
enum RelayRegistryClient {
  /// The relays for `key` from the registry at `url` (a `grpc://` URL, as for the backend), with
  /// a proof that we hold `key` when the server reads proofs; gives up after `timeout`.
  static func fetch(url: BackendURL, key: PrivateKey, timeout: Duration, logger: Logger) async throws -> [Relay] {
    let endpoint = try GRPCEndpoint(url)
    let transport = try endpoint.makeTransport()
    return try await withGRPCClient(transport: transport) { client in
      var params = Cunicu_Signaling_GetRelaysParams()
      params.publicKey = Data(key.publicKey.bytes)
      var options = CallOptions.defaults
      options.timeout = timeout
      let proofs = ProofMaker(pinned: endpoint.serverKey, logger: logger)
      let metadata = await proofs.metadata(for: key, purpose: .getRelays) {
        try await ProofMaker.askServerKey(Cunicu_Signaling_Signaling.Client(wrapping: client), timeout: timeout)
      }
      let response = try await Cunicu_Signaling_RelayRegistry.Client(wrapping: client).getRelays(
        params, metadata: metadata, options: options)
      // The registry's expiry is wall-clock time; it becomes a deadline on the monotonic clock.
      let nowSeconds = Date().timeIntervalSince1970
      let now = ContinuousClock.now
      return response.relays.map { info in
        var relay = Relay(url: info.url, username: info.username, password: info.password)
        if info.hasExpires {
          let remaining = Double(info.expires.seconds) + Double(info.expires.nanos) / 1e9 - nowSeconds
          relay.expires = now + .seconds(max(0, remaining))
        }
        return relay
      }
    }
  }
}

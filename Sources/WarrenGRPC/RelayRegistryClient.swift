#if canImport(FoundationEssentials)
  internal import FoundationEssentials
#else
  internal import Foundation
#endif
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
public import WarrenCrypto
internal import WarrenSignaling
internal import WarrenWire
internal import WarrenWireGRPC

/// Asks a signaling server's RelayRegistry (wire.md: `grpc://…` in the ICE URL list) for the
/// STUN/TURN servers and credentials it hands to our key.
public enum RelayRegistryClient {
  /// One relay as the registry describes it.
  public struct Relay: Sendable, Hashable {
    /// `stun:`, `turn:` or `turns:` URL.
    public var url: String
    public var username: String
    public var password: String
    /// When the credentials stop working (TURN REST credentials), if the registry says.
    public var expires: ContinuousClock.Instant?
  }

  /// The relays for `key` from the registry at `url` (a `grpc://` URL, as for the backend);
  /// gives up after `timeout`.
  public static func fetch(url: String, key: Key, timeout: Duration = .seconds(5)) async throws -> [Relay] {
    let endpoint = try GRPCEndpoint(try BackendURL(url))
    let transport = try HTTP2ClientTransport.Posix(target: endpoint.target, transportSecurity: endpoint.transportSecurity)
    return try await withGRPCClient(transport: transport) { client in
      var params = Cunicu_Signaling_GetRelaysParams()
      params.publicKey = Data(key.bytes)
      var options = CallOptions.defaults
      options.timeout = timeout
      let response = try await Cunicu_Signaling_RelayRegistry.Client(wrapping: client).getRelays(params, options: options)
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

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import Crypto
public import GRPCCore
internal import WarrenCrypto
public import WarrenWire
public import WarrenWireGRPC

/// `cunicu.signaling.RelayRegistry`: the STUN/TURN servers a peer should use, with credentials
/// minted for the asking key where the server was given a shared secret (the TURN REST API
/// convention that coturn's `use-auth-secret` checks: `username = "<unix expiry>:<name>"`,
/// `password = base64(HMAC-SHA1(secret, username))`).
public struct RelayRegistryService: Cunicu_Signaling_RelayRegistry.SimpleServiceProtocol {
  public let relays: [RelayURL]
  private let now: @Sendable () -> Int64
  private let errors: RPCErrorCounter

  /// - Parameter now: the current Unix time in seconds (injected so tests can fix it).
  public init(
    relays: [RelayURL], errors: RPCErrorCounter = RPCErrorCounter(), now: (@Sendable () -> Int64)? = nil
  ) {
    self.relays = relays
    self.errors = errors
    self.now = now ?? { Int64(Date().timeIntervalSince1970) }
  }

  public func getRelays(
    request: Cunicu_Signaling_GetRelaysParams, context: ServerContext
  ) async throws -> Cunicu_Signaling_GetRelaysResp {
    guard let key = try? Key(bytes: request.publicKey) else {
      errors.record(.invalidArgument)
      throw RPCError(
        code: .invalidArgument,
        message: "GetRelays: field 'public_key' must be a 32-byte public key, got \(request.publicKey.count) bytes")
    }
    var response = Cunicu_Signaling_GetRelaysResp()
    response.relays = relays.map { info(for: $0, key: key) }
    return response
  }

  func info(for relay: RelayURL, key: Key) -> Cunicu_Signaling_RelayInfo {
    var info = Cunicu_Signaling_RelayInfo()
    info.url = relay.publicURL
    switch relay.credentials {
    case .none:
      break
    case .static(let username, let password):
      info.username = username
      info.password = password
    case .shared(let secret, let ttl):
      let expiry = now() + Int64(ttl)
      info.username = "\(expiry):\(key.base64)"
      info.password = Self.restPassword(secret: secret, username: info.username)
      info.expires.seconds = Int32(clamping: expiry)
    }
    return info
  }

  /// base64(HMAC-SHA1(secret, username)).
  static func restPassword(secret: String, username: String) -> String {
    let mac = HMAC<Insecure.SHA1>.authenticationCode(
      for: Array(username.utf8), using: SymmetricKey(data: Array(secret.utf8)))
    return Data(mac).base64EncodedString()
  }
}

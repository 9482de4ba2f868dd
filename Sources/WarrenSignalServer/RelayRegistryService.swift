#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import Crypto
public import GRPCCore
internal import WarrenCrypto
internal import WarrenPrimitives
public import WarrenWire
public import WarrenWireGRPC

/// `cunicu.signaling.RelayRegistry`: the STUN/TURN servers a peer should use, with credentials
/// minted for the asking key where the server was given a shared secret (the TURN REST API
/// convention that coturn's `use-auth-secret` checks: `username = "<unix expiry>:<name>"`,
/// `password = base64(HMAC-SHA1(secret, username))`).
///
/// Behind the server's ``AccessControl``: with `--require-proof` only a key's holder gets its
/// credentials (a proof in the request metadata), and with `--allow-keys` only the mesh's keys.
public struct RelayRegistryService: Cunicu_Signaling_RelayRegistry.ServiceProtocol {
  public let relays: [RelayURL]
  private let access: AccessControl?
  private let now: @Sendable () -> Int64
  private let errors: RPCErrorCounter

  /// - Parameters:
  ///   - access: `nil` serves every key (tests of the credentials alone).
  ///   - now: the current Unix time in seconds (injected so tests can fix it).
  public init(
    relays: [RelayURL], access: AccessControl? = nil, errors: RPCErrorCounter = RPCErrorCounter(),
    now: (@Sendable () -> Int64)? = nil
  ) {
    self.relays = relays
    self.access = access
    self.errors = errors
    self.now = now ?? { Int64(WallClock.unixNanoseconds / 1_000_000_000) }
  }

  public func getRelays(
    request: ServerRequest<Cunicu_Signaling_GetRelaysParams>, context: ServerContext
  ) async throws -> ServerResponse<Cunicu_Signaling_GetRelaysResp> {
    let response = try relays(
      for: request.message, proof: request.metadata[binaryValues: KeyPossessionProof.metadataKey].first(where: { _ in true }),
      connection: context.remotePeer)
    return ServerResponse(message: response, metadata: [:])
  }

  /// A GetRelays, whichever server serves it (`proof`: the metadata's decoded bytes).
  func relays(
    for request: Cunicu_Signaling_GetRelaysParams, proof: [UInt8]?, connection: String
  ) throws(RPCError) -> Cunicu_Signaling_GetRelaysResp {
    guard let key = try? Key(bytes: request.publicKey) else {
      errors.record(.invalidArgument)
      throw RPCError(
        code: .invalidArgument,
        message: "GetRelays: field 'public_key' must be a 32-byte public key, got \(request.publicKey.count) bytes")
    }
    do {
      try access?.admit(.getRelays, key: key, proof: proof, connection: connection)
    } catch {
      errors.record(error.code)
      throw error
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

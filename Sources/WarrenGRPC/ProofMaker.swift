internal import GRPCCore
internal import Logging
internal import WarrenCrypto
internal import WarrenPrimitives
internal import WarrenWire
internal import WarrenWireGRPC

/// Makes the proofs of key possession a `grpc://` client sends with Subscribe and GetRelays
/// (docs/signal-server.md, "Proof of key possession"), sealed to the server's key: the one pinned
/// in the URL (`server_key=`), or else the one the server names in its `GetBuildInfo` answer or
/// in a refusal, learned on first contact and kept for the client's lifetime. A server that names
/// no key (cunicu's) gets no proofs.
final class ProofMaker: Sendable {
  enum Knowledge: Equatable {
    case pinned(Key)
    case learned(Key)
    /// The server answered GetBuildInfo without a key: it does not read proofs.
    case none
    case unknown
  }

  private let knowledge: Locked<Knowledge>
  private let logger: Logger

  init(pinned: Key?, logger: Logger) {
    knowledge = Locked(pinned.map(Knowledge.pinned) ?? .unknown)
    self.logger = logger
  }

  var current: Knowledge { knowledge.withLock { $0 } }

  /// Asks the server for its key if nothing is known yet (as ``metadata(for:purpose:askServer:)``
  /// does before its first proof).
  func learnIfUnknown(askServer: () async throws -> Key?) async {
    guard current == .unknown else { return }
    do {
      let named = try await askServer()
      learn(named, from: "GetBuildInfo")
    } catch {
      logger.debug("could not ask the server for its key; no proof this time", metadata: ["error": "\(error)"])
    }
  }

  /// The metadata for a call by `ours`: a fresh proof if the server's key is known. Asks the
  /// server for its key first if nothing is known yet (`askServer` returns the key it names, `nil`
  /// if it names none, or throws if it could not be asked; then no proof is sent this time).
  func metadata(
    for ours: PrivateKey, purpose: KeyPossessionProof.Purpose, askServer: () async throws -> Key?
  ) async -> Metadata {
    await learnIfUnknown(askServer: askServer)
    let server: Key
    switch current {
    case .pinned(let key), .learned(let key): server = key
    case .none, .unknown: return [:]
    }
    var metadata = Metadata()
    do {
      let proof = try KeyPossessionProof.make(client: ours, server: server, purpose: purpose, unixMilliseconds: WallClock.unixMilliseconds)
      metadata.addBinary(proof, forKey: KeyPossessionProof.metadataKey)
    } catch {
      logger.warning("cannot make a proof of key possession", metadata: ["server_key": "\(server)", "error": "\(error)"])
    }
    return metadata
  }

  /// Takes the key a server named (in GetBuildInfo's metadata or a refusal's), unless one is
  /// pinned; returns whether what the client knows changed (worth trying again at once).
  @discardableResult
  func learn(_ named: Key?, from source: String) -> Bool {
    knowledge.withLock { knowledge in
      let before = knowledge
      switch (knowledge, named) {
      case (.pinned(let pinned), let named?) where named != pinned:
        logger.error(
          "the server names another key than the pinned server_key; proofs stay sealed to the pinned one",
          metadata: ["pinned": "\(pinned)", "named": "\(named)", "source": "\(source)"])
      case (.pinned, _):
        break
      case (.learned(let old), let named?) where named != old:
        logger.warning("the server's key changed; proofs go to the new one", metadata: ["old": "\(old)", "new": "\(named)"])
        knowledge = .learned(named)
      case (_, let named?):
        if knowledge != .learned(named) { logger.info("learned the server's key; subscriptions carry proofs", metadata: ["server_key": "\(named)"]) }
        knowledge = .learned(named)
      case (_, nil):
        knowledge = .none
      }
      return knowledge != before
    }
  }

  /// Asks the server for its key: the one its GetBuildInfo answer names (`nil`: it names none).
  static func askServerKey<Transport: ClientTransport>(
    _ signaling: Cunicu_Signaling_Signaling.Client<Transport>, timeout: Duration
  ) async throws -> Key? {
    var options = CallOptions.defaults
    options.timeout = timeout
    return try await signaling.getBuildInfo(Cunicu_Empty(), options: options) { response in
      _ = try response.message
      return serverKey(in: response.metadata)
    }
  }

  /// The key named in `metadata` (`warren-server-key`), if any and well-formed.
  static func serverKey(in metadata: Metadata) -> Key? {
    metadata[stringValues: KeyPossessionProof.serverKeyMetadataKey].first(where: { _ in true }).flatMap { try? Key(base64: $0) }
  }
}

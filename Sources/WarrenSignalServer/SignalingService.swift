#if canImport(FoundationEssentials)
internal import WarrenPrimitives
internal import FoundationEssentials
#else
internal import Foundation
#endif
public import GRPCCore
public import Logging
internal import SwiftProtobuf
internal import WarrenCrypto
public import WarrenWire
public import WarrenWireGRPC

/// `cunicu.signaling.Signaling`, served by Warren (wire.md, "gRPC services"), behind the
/// server's ``AccessControl``. It implements the metadata-level protocol: proofs of key
/// possession arrive as request metadata, and `GetBuildInfo` answers with the server's key.
public struct SignalingService: Cunicu_Signaling_Signaling.ServiceProtocol {
  public let relay: SignalingRelay
  public let access: AccessControl
  /// Envelopes larger than this (serialized) are refused with `RESOURCE_EXHAUSTED`.
  public let maxEnvelopeSize: Int
  public let buildInfo: Cunicu_BuildInfo
  /// The other replicas, when this server is one of a cluster.
  public let bus: (any ClusterBus)?
  private let errors: RPCErrorCounter
  private let logger: Logger

  public init(
    relay: SignalingRelay, access: AccessControl, maxEnvelopeSize: Int = 64 * 1024, buildInfo: Cunicu_BuildInfo,
    bus: (any ClusterBus)? = nil, errors: RPCErrorCounter = RPCErrorCounter(), logger: Logger
  ) {
    self.relay = relay
    self.bus = bus
    self.access = access
    self.maxEnvelopeSize = maxEnvelopeSize
    self.buildInfo = buildInfo
    self.errors = errors
    self.logger = logger
  }

  /// The build, and the server's public key in the response metadata (`warren-server-key`): how
  /// a client that has not pinned it learns where to seal its proofs (cunicu's server sends none,
  /// and Warren clients then send no proofs).
  public func getBuildInfo(
    request: ServerRequest<Cunicu_Empty>, context: ServerContext
  ) async throws -> ServerResponse<Cunicu_BuildInfo> {
    var metadata = Metadata()
    metadata.addString(buildInfoMetadata.value, forKey: buildInfoMetadata.name)
    return ServerResponse(message: buildInfo, metadata: metadata)
  }

  /// Checks the key, the access rules and the proof, registers the subscription, sends the empty
  /// marker envelope, then every envelope published to the key until the client goes away or the
  /// server shuts down.
  public func subscribe(
    request: ServerRequest<Cunicu_Signaling_SubscribeParams>, context: ServerContext
  ) async throws -> StreamingServerResponse<Cunicu_Signaling_Envelope> {
    let key = try admitSubscribe(
      request.message, proof: request.metadata[binaryValues: KeyPossessionProof.metadataKey].first(where: { _ in true }),
      connection: context.remotePeer)
    return StreamingServerResponse { response in
      try await stream(key, to: response, context: context)
      return [:]
    }
  }

  /// The checks of a Subscribe, whichever server serves it: the key, the access rules, the proof
  /// (`proof`: the metadata's decoded bytes). Returns the key to subscribe.
  func admitSubscribe(_ request: Cunicu_Signaling_SubscribeParams, proof: [UInt8]?, connection: String) throws(RPCError) -> Key {
    let key = try validKey(request.key, field: "key", method: "Subscribe")
    do {
      try access.admit(.subscribe, key: key, proof: proof, connection: connection)
    } catch {
      errors.record(error.code)
      throw error
    }
    return key
  }

  private func stream(_ key: Key, to response: RPCWriter<Cunicu_Signaling_Envelope>, context: ServerContext) async throws {
    // The topic exists before the marker leaves: whatever is published once the client has seen
    // the marker reaches it.
    let subscription = relay.subscribe(key)
    logger.debug("subscribed", metadata: ["key": "\(key)", "peer": "\(context.remotePeer)"])
    defer {
      subscription.end()
      logger.debug("unsubscribed", metadata: ["key": "\(key)", "peer": "\(context.remotePeer)"])
    }
    // gRPC reports a client that went away through the RPC's cancellation handle, not by
    // cancelling this task: end the subscription then, so the topic is freed at once.
    try await withRPCCancellationHandler {
      try await response.write(Cunicu_Signaling_Envelope())
      for await envelope in subscription.envelopes {
        try await response.write(envelope)
        relay.recordDelivery(size: envelope.encodedSize)
      }
    } onCancelRPC: {
      subscription.end()
    }
  }

  public func publish(
    request: ServerRequest<Cunicu_Signaling_Envelope>, context: ServerContext
  ) async throws -> ServerResponse<Cunicu_Empty> {
    try publish(request.message, connection: context.remotePeer)
    return ServerResponse(message: Cunicu_Empty(), metadata: [:])
  }

  /// A Publish, whichever server serves it: checks the keys, the access rules and the size, then
  /// queues the envelope for the recipient's subscribers here and hands it to the cluster.
  func publish(_ envelope: Cunicu_Signaling_Envelope, connection: String) throws(RPCError) {
    let sender = try validKey(envelope.sender, field: "sender", method: "Publish")
    let recipient = try validKey(envelope.recipient, field: "recipient", method: "Publish")
    do {
      try access.admitPublish(sender: sender, recipient: recipient, connection: connection)
    } catch {
      errors.record(error.code)
      throw error
    }
    let size = envelope.encodedSize
    guard size <= maxEnvelopeSize else {
      errors.record(.resourceExhausted)
      throw RPCError(
        code: .resourceExhausted,
        message: "envelope is \(size) bytes; this server relays at most \(maxEnvelopeSize)")
    }
    let queued = relay.publish(envelope, to: recipient, size: size)
    bus?.forward(envelope, size: size)
    logger.trace("published", metadata: ["recipient": "\(recipient)", "subscribers": "\(queued)"])
  }

  /// Metadata of GetBuildInfo's response: the key clients seal their proofs to.
  var buildInfoMetadata: (name: String, value: String) {
    (KeyPossessionProof.serverKeyMetadataKey, access.verifier.serverKey.publicKey.base64)
  }

  private func validKey(_ bytes: Data, field: String, method: String) throws(RPCError) -> Key {
    guard let key = try? Key(bytes: bytes) else {
      errors.record(.invalidArgument)
      throw RPCError(
        code: .invalidArgument,
        message: "\(method): field '\(field)' must be a 32-byte public key, got \(bytes.count) bytes")
    }
    return key
  }
}

/// Counts the errors the services answered with, by status code, for metrics.
public final class RPCErrorCounter: Sendable {
  private let counts = Locked<[RPCError.Code: Int]>([:])

  public init() {}

  public func record(_ code: RPCError.Code) { counts.withLock { $0[code, default: 0] += 1 } }

  public var snapshot: [RPCError.Code: Int] { counts.withLock { $0 } }
}

extension Cunicu_Signaling_Envelope {
  /// The protobuf-encoded size, computed from the field lengths without encoding: proto3 leaves
  /// empty bytes fields out, a present sub-message is always written, and every field number
  /// here fits a one-byte tag.
  var encodedSize: Int {
    func lengthDelimited(_ length: Int) -> Int {
      var varint = 1
      var rest = length >> 7
      while rest > 0 {
        varint += 1
        rest >>= 7
      }
      return 1 + varint + length
    }
    func bytesField(_ length: Int) -> Int { length == 0 ? 0 : lengthDelimited(length) }
    var size = bytesField(sender.count) + bytesField(recipient.count) + unknownFields.data.count
    if hasContents {
      size += lengthDelimited(
        bytesField(contents.body.count) + bytesField(contents.nonce.count) + contents.unknownFields.data.count)
    }
    return size
  }
}

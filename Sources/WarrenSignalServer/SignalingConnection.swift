internal import GRPCCore
internal import Logging
internal import NIOCore
internal import NIOHPACK
internal import NIOHTTP2
internal import SwiftProtobuf
internal import WarrenCrypto
internal import WarrenWire
internal import WarrenWireGRPC

/// The methods the frame-level server answers, by HTTP/2 `:path`.
enum SignalingMethod: String {
  case publish = "/cunicu.signaling.Signaling/Publish"
  case subscribe = "/cunicu.signaling.Signaling/Subscribe"
  case getBuildInfo = "/cunicu.signaling.Signaling/GetBuildInfo"
  case getRelays = "/cunicu.signaling.RelayRegistry/GetRelays"

  /// The name in errors and logs.
  var name: String { String(rawValue.split(separator: "/").last ?? "") }

  /// Whether the call may carry a proof of key possession.
  var takesProof: Bool { self == .subscribe || self == .getRelays }
}

/// What every connection of the frame-level server answers with.
struct SignalingEndpoints: Sendable {
  let signaling: SignalingService
  let registry: RelayRegistryService
  let errors: RPCErrorCounter
  /// The largest request message read; a larger one is refused as soon as its length is known.
  let maxRequestSize: Int
  /// Envelopes a subscriber may have waiting before the oldest are dropped.
  let queueLimit: Int
  let logger: Logger

  var relay: SignalingRelay { signaling.relay }
}

/// One HTTP/2 connection of `warren signal`, served frame by frame (docs/signal-server-performance.md,
/// "The frame-level server"): a stream is an entry in a dictionary, not a channel and a task.
///
/// A request is read whole (it is one message) and answered at once. A Subscribe stream stays
/// open: the relay hands its envelopes to a ``ConnectionSubscriberSink``, which brings them to
/// this connection's event loop, where they wait in the stream's bounded queue and are written
/// with at most ``writesInFlight`` not yet taken by the socket — a client that does not read loses
/// its oldest envelopes, and costs the server no more than its queue.
///
/// Flow control (RFC 9113 §5.2): every stream may send a whole request (the initial window is
/// the largest request), and the connection's window is given back as requests are taken, so a
/// connection holds at most ``connectionWindow`` bytes of unfinished requests.
final class SignalingConnection: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  /// The connection's receive window, opened on the first frame (the protocol's is 65,535).
  static let connectionWindow = 1 << 20
  /// Envelopes of one subscription written but not yet taken by the socket.
  static let writesInFlight = 16

  private enum Stream {
    case receiving(SignalingMethod, proof: [UInt8]?, body: ByteBuffer?)
    case subscribed(SubscriberStream)
    /// Refused before the client finished sending: what else it sends is dropped.
    case answered
  }

  /// A live Subscribe stream, on the connection's event loop.
  private final class SubscriberStream {
    let key: Key
    var id: SignalingRelay.SubscriptionID?
    /// Empty until the first envelope: most subscriptions wait idle (the default capacity of 16
    /// envelopes was 1.6 KiB per subscriber).
    var pending = CircularBuffer<Cunicu_Signaling_Envelope>(initialCapacity: 1)
    var inFlight = 0
    var finishing = false

    init(key: Key) { self.key = key }
  }

  private let endpoints: SignalingEndpoints
  private var streams: [HTTP2StreamID: Stream] = [:]
  private var context: ChannelHandlerContext?
  private var peer = "unknown"
  private var windowOpened = false
  private var windowToReturn = 0
  private var reading = false
  private var flushPending = false

  init(endpoints: SignalingEndpoints) { self.endpoints = endpoints }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    peer = Self.describe(context.channel.remoteAddress)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    endAll()
    self.context = nil
  }

  func channelInactive(context: ChannelHandlerContext) {
    endAll()
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    reading = true
    let frame = unwrapInboundIn(data)
    if !windowOpened {
      windowOpened = true
      write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: Self.connectionWindow - 65_535)))
    }
    switch frame.payload {
    case .headers(let headers): received(headers, on: frame.streamID)
    case .data(let data): received(data, on: frame.streamID)
    default: break  // SETTINGS and PING are answered by NIOHTTP2Handler; resets arrive as StreamClosedEvent
    }
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    reading = false
    if flushPending {
      flushPending = false
      context.flush()
    }
    context.fireChannelReadComplete()
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let closed = event as? StreamClosedEvent { end(closed.streamID) }
    context.fireUserInboundEventTriggered(event)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    // A stream's error ends that stream (NIOHTTP2Handler resets it); any other ends the connection
    // (NIOHTTP2Handler has sent GOAWAY for a protocol error).
    guard !(error is NIOHTTP2Errors.StreamError) else { return }
    endpoints.logger.debug("signaling connection closed on an error", metadata: ["peer": "\(peer)", "error": "\(error)"])
    context.close(promise: nil)
  }

  // MARK: Requests

  private func received(_ frame: HTTP2Frame.FramePayload.Headers, on id: HTTP2StreamID) {
    if let stream = streams[id] {
      // Trailers end a request; anything else on a known stream is ignored.
      if case .receiving = stream, frame.endStream { complete(id) }
      return
    }
    let headers = frame.headers
    guard headers.first(name: ":method") == "POST" else {
      return answer(id, http: 405, ended: frame.endStream)
    }
    guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
      return answer(id, http: 415, ended: frame.endStream)
    }
    let path = headers.first(name: ":path") ?? ""
    guard let method = SignalingMethod(rawValue: path) else {
      endpoints.errors.record(.unimplemented)
      return refuse(id, RPCError(code: .unimplemented, message: "this server has no method \(path)"), ended: frame.endStream)
    }
    let proof = method.takesProof ? GRPCStatusHeaders.binaryValue(headers, name: KeyPossessionProof.metadataKey) : nil
    streams[id] = .receiving(method, proof: proof, body: nil)
    if frame.endStream { complete(id) }
  }

  private func received(_ frame: HTTP2Frame.FramePayload.Data, on id: HTTP2StreamID) {
    guard case .byteBuffer(let bytes) = frame.data else { return }
    let padding = frame.paddingBytes.map { $0 + 1 } ?? 0
    guard case .receiving(let method, let proof, let body)? = streams.removeValue(forKey: id) else {
      // A stream already answered, or unknown: its bytes are dropped and the window given back.
      returnWindow(bytes.readableBytes + padding)
      return
    }
    returnWindow(padding)
    var whole: ByteBuffer
    if var body {
      body.writeImmutableBuffer(bytes)
      whole = body
    } else {
      whole = bytes
    }
    let announced = GRPCFraming.announcedLength(whole) ?? 0
    if announced > endpoints.maxRequestSize || whole.readableBytes > endpoints.maxRequestSize + GRPCFraming.prefixSize {
      returnWindow(whole.readableBytes)
      endpoints.errors.record(.resourceExhausted)
      let limit = endpoints.maxRequestSize
      return refuse(
        id, RPCError(code: .resourceExhausted, message: "\(method.name): the request is \(announced) bytes; this server reads at most \(limit)"),
        ended: frame.endStream)
    }
    streams[id] = .receiving(method, proof: proof, body: whole)
    if frame.endStream { complete(id) }
  }

  /// The client has sent its whole request: answers it.
  private func complete(_ id: HTTP2StreamID) {
    guard case .receiving(let method, let proof, let body)? = streams.removeValue(forKey: id) else { return }
    let request = body ?? ByteBuffer()
    returnWindow(request.readableBytes)
    do throws(RPCError) {
      let message = try requestMessage(request, of: method)
      switch method {
      case .publish:
        let envelope = try decode(Cunicu_Signaling_Envelope.self, from: message, for: method)
        try endpoints.signaling.publish(envelope, connection: peer)
        respond(id, with: Cunicu_Empty())
      case .subscribe:
        let request = try decode(Cunicu_Signaling_SubscribeParams.self, from: message, for: method)
        let key = try endpoints.signaling.admitSubscribe(request, proof: proof, connection: peer)
        subscribe(id, to: key)
      case .getBuildInfo:
        _ = try decode(Cunicu_Empty.self, from: message, for: method)
        let metadata = endpoints.signaling.buildInfoMetadata
        respond(id, with: endpoints.signaling.buildInfo, metadata: [(metadata.name, metadata.value)])
      case .getRelays:
        let request = try decode(Cunicu_Signaling_GetRelaysParams.self, from: message, for: method)
        respond(id, with: try endpoints.registry.relays(for: request, proof: proof, connection: peer))
      }
    } catch {
      refuse(id, error, ended: true)
    }
  }

  private func requestMessage(_ body: ByteBuffer, of method: SignalingMethod) throws(RPCError) -> ByteBuffer {
    do {
      return try GRPCFraming.singleMessage(body, limit: endpoints.maxRequestSize)
    } catch {
      let code: RPCError.Code =
        switch error {
        case .tooLarge: .resourceExhausted
        case .compressed: .unimplemented
        case .truncated, .trailingBytes: .internalError
        }
      endpoints.errors.record(code)
      throw RPCError(code: code, message: "\(method.name): \(error)")
    }
  }

  private func decode<M: SwiftProtobuf.Message>(_: M.Type, from message: ByteBuffer, for method: SignalingMethod) throws(RPCError) -> M {
    do {
      return try M(serializedBytes: Array(message.readableBytesView))
    } catch {
      endpoints.errors.record(.invalidArgument)
      throw RPCError(code: .invalidArgument, message: "\(method.name): the request is not a valid \(M.protoMessageName): \(error)")
    }
  }

  // MARK: Responses

  private func respond(_ id: HTTP2StreamID, with message: some SwiftProtobuf.Message, metadata: [(String, String)] = []) {
    guard let context,
      let framed = message is Cunicu_Empty ? GRPCFraming.emptyMessage : try? GRPCFraming.frame(message, allocator: context.channel.allocator)
    else {
      return refuse(id, RPCError(code: .internalError, message: "the response could not be encoded"), ended: true)
    }
    let headers = metadata.isEmpty ? GRPCStatusHeaders.response : GRPCStatusHeaders.response(metadata)
    write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers))))
    write(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(framed)))))
    write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: GRPCStatusHeaders.ok, endStream: true))))
  }

  /// Answers with a gRPC error; `ended`: whether the client had finished sending.
  private func refuse(_ id: HTTP2StreamID, _ error: RPCError, ended: Bool) {
    if !ended { streams[id] = .answered }
    write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: GRPCStatusHeaders.failure(error, trailersOnly: true), endStream: true))))
  }

  /// Answers a request that is not gRPC with an HTTP status.
  private func answer(_ id: HTTP2StreamID, http status: Int, ended: Bool) {
    if !ended { streams[id] = .answered }
    write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: GRPCStatusHeaders.http(status: status), endStream: true))))
  }

  // MARK: Subscriptions

  private func subscribe(_ id: HTTP2StreamID, to key: Key) {
    guard let context else { return }
    let subscriber = SubscriberStream(key: key)
    streams[id] = .subscribed(subscriber)
    // The topic exists before the marker leaves: whatever is published once the client has seen
    // the marker reaches it.
    let sink = ConnectionSubscriberSink(connection: NIOLoopBound(self, eventLoop: context.eventLoop), stream: id)
    subscriber.id = endpoints.relay.subscribe(key, sink: sink)
    write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: GRPCStatusHeaders.response))))
    // The framed empty envelope a Subscribe stream starts with (wire.md, `Signaling.Subscribe`).
    write(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(GRPCFraming.emptyMessage)))))
    endpoints.logger.debug("subscribed", metadata: ["key": "\(key)", "peer": "\(peer)"])
  }

  /// An envelope for the subscription on stream `id` (from its sink, on this event loop).
  func deliver(_ envelope: Cunicu_Signaling_Envelope, to id: HTTP2StreamID) {
    guard case .subscribed(let subscriber)? = streams[id], !subscriber.finishing else { return }
    // The queue limit counts what waits and what the socket has not taken: a client that does not
    // read holds at most that many envelopes of the server's memory (one more while a write is
    // waiting for flow control).
    if subscriber.pending.count >= max(1, endpoints.queueLimit - subscriber.inFlight) {
      subscriber.pending.removeFirst()
      endpoints.relay.recordDroppedQueueFull()
    }
    subscriber.pending.append(envelope)
    pump(subscriber, on: id)
  }

  /// Ends the subscription on stream `id` once its queue is written (graceful shutdown).
  func finishSubscription(_ id: HTTP2StreamID) {
    guard case .subscribed(let subscriber)? = streams[id], !subscriber.finishing else { return }
    subscriber.finishing = true
    pump(subscriber, on: id)
  }

  private func pump(_ subscriber: SubscriberStream, on id: HTTP2StreamID) {
    guard let context else { return }
    while subscriber.inFlight < min(Self.writesInFlight, endpoints.queueLimit), let envelope = subscriber.pending.popFirst() {
      guard let framed = try? GRPCFraming.frame(envelope, allocator: context.channel.allocator) else { continue }
      let size = framed.readableBytes - GRPCFraming.prefixSize
      subscriber.inFlight += 1
      let written = context.eventLoop.makePromise(of: Void.self)
      write(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(framed)))), promise: written)
      written.futureResult.assumeIsolated().whenComplete { [weak self] result in
        guard let self else { return }
        if case .success = result { endpoints.relay.recordDelivery(size: size) }
        subscriber.inFlight -= 1
        if !subscriber.pending.isEmpty || subscriber.finishing { pump(subscriber, on: id) }
      }
    }
    if subscriber.finishing, subscriber.pending.isEmpty, let subscription = subscriber.id {
      subscriber.id = nil
      endpoints.relay.unsubscribe(subscription)
      streams[id] = .answered
      write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: GRPCStatusHeaders.ok, endStream: true))))
    }
  }

  // MARK: Streams and the connection

  /// A stream closed (reset by the client, or both sides done).
  private func end(_ id: HTTP2StreamID) {
    switch streams.removeValue(forKey: id) {
    case .subscribed(let subscriber):
      if let subscription = subscriber.id { endpoints.relay.unsubscribe(subscription) }
      endpoints.logger.debug("unsubscribed", metadata: ["key": "\(subscriber.key)", "peer": "\(peer)"])
    case .receiving(_, _, let body?):
      returnWindow(body.readableBytes)
    case .receiving, .answered, nil:
      break
    }
  }

  private func endAll() {
    for id in Array(streams.keys) { end(id) }
  }

  /// Gives bytes the client sent back to the connection's window, a quarter window at a time.
  private func returnWindow(_ bytes: Int) {
    windowToReturn += bytes
    guard windowToReturn >= Self.connectionWindow / 4 else { return }
    write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: windowToReturn)))
    windowToReturn = 0
  }

  /// Writes a frame, flushed at the end of this read, or now outside of one.
  private func write(_ frame: HTTP2Frame, promise: EventLoopPromise<Void>? = nil) {
    guard let context else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    context.write(wrapOutboundOut(frame), promise: promise)
    if reading {
      flushPending = true
    } else {
      context.flush()
    }
  }

  /// A client's address as grpc-swift names it (`ipv4:127.0.0.1:5000`), for rate limits and logs.
  static func describe(_ address: SocketAddress?) -> String {
    guard let address else { return "unknown" }
    return switch address {
    case .v4: "ipv4:\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    case .v6: "ipv6:[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
    case .unixDomainSocket: "unix:\(address.pathname ?? "")"
    }
  }
}

public import NIOCore
internal import NIOHPACK
public import NIOHTTP2

/// The server end of one HTTP/2 connection (RFC 9113), in place of NIOHTTP2's `NIOHTTP2Handler`
/// and its connection manager, for a server whose connections are many and mostly idle
/// (docs/http2.md): bytes in, `HTTP2Frame`s out to the next handler, and its `HTTP2Frame`s
/// written as bytes.
///
/// It keeps what a connection needs and nothing ahead of need — the peer's settings, both flow
/// control windows of the connection and of each open stream, the header decoder's table (grown
/// as entries arrive) and the open streams — about 1 KiB for a connection with one stream, where
/// NIOHTTP2's handler and its HPACK tables take some 20.
///
/// What it does for the next handler:
/// - answers SETTINGS and PING, and checks every frame's size, stream and order (a violation is a
///   connection error: GOAWAY with its code and reason, then the connection is closed; a stream's
///   is RST_STREAM);
/// - decodes header blocks (HEADERS and CONTINUATION, HPACK) into one `headers` frame per block;
/// - passes on DATA, PING, GOAWAY and WINDOW_UPDATE; a stream reset by the client or closed in
///   both directions is announced with `StreamClosedEvent`;
/// - holds written DATA (and trailers behind it) while a stream's or the connection's send window
///   is shut, splitting frames to the peer's window and frame size; a write's promise completes
///   when its last byte is handed to the socket;
/// - counts the receive windows: a client that sends beyond them is refused. Giving the window
///   back (WINDOW_UPDATE) is the next handler's choice, as it is with NIOHTTP2;
/// - on `ChannelShouldQuiesceEvent` sends GOAWAY naming the last stream it took, serves those
///   streams to their end and then closes, or closes when the grace period is over.
public final class HTTP2ServerConnectionHandler: ChannelDuplexHandler {
  public typealias InboundIn = ByteBuffer
  public typealias InboundOut = HTTP2Frame
  public typealias OutboundIn = HTTP2Frame
  public typealias OutboundOut = ByteBuffer

  public struct Configuration: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: a stream beyond it is refused (REFUSED_STREAM).
    public var maxConcurrentStreams: Int
    /// SETTINGS_INITIAL_WINDOW_SIZE: what each stream may send before a WINDOW_UPDATE.
    public var initialWindowSize: Int
    /// SETTINGS_MAX_HEADER_LIST_SIZE: a larger request is answered with HTTP 431.
    public var maxHeaderListSize: Int
    /// How long a connection's streams may go on after GOAWAY; nil: as long as they take.
    public var gracePeriod: TimeAmount?
    /// Streams reset (by the client, or by this end for an error) that a connection may spend at
    /// once, and regains each second (NIOHTTP2's default: 200 in 30 s).
    public var resetBurst: Int
    public var resetsPerSecond: Int

    public init(
      maxConcurrentStreams: Int = 100, initialWindowSize: Int = 65_535, maxHeaderListSize: Int = 16_384, gracePeriod: TimeAmount? = nil,
      resetBurst: Int = 200, resetsPerSecond: Int = 7
    ) {
      self.maxConcurrentStreams = maxConcurrentStreams
      self.initialWindowSize = initialWindowSize
      self.maxHeaderListSize = maxHeaderListSize
      self.gracePeriod = gracePeriod
      self.resetBurst = resetBurst
      self.resetsPerSecond = resetsPerSecond
    }
  }

  /// The client connection preface (RFC 9113 §3.4).
  static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
  /// The largest frame this end reads: the protocol's default SETTINGS_MAX_FRAME_SIZE, not raised.
  static let maxFrameSize = 16_384
  /// The protocol's default window of a connection and of a stream (§6.9.2).
  static let defaultWindow = 65_535
  static let maxWindow = Int(Int32.max)
  /// A header block (HEADERS and its CONTINUATIONs) larger than this closes the connection.
  static let maxHeaderBlockSize = 64 * 1024

  private struct Stream {
    /// The client may still send (no END_STREAM received).
    var receiving = true
    /// This end may still send (no END_STREAM written).
    var sending = true
    var receiveWindow: Int
    var sendWindow: Int
    /// Writes waiting for a window, oldest first; nil when none (nearly always).
    var held: CircularBuffer<HeldWrite>?
  }

  private enum HeldWrite {
    case data(ByteBuffer, endStream: Bool, promise: EventLoopPromise<Void>?)
    case headers(HPACKHeaders, endStream: Bool, promise: EventLoopPromise<Void>?)
  }

  private let configuration: Configuration
  private var context: ChannelHandlerContext?
  private var decoder: HeaderBlockDecoder
  /// Bytes of a frame not yet whole.
  private var unread: ByteBuffer?
  private var prefaceRead = false
  private var settingsRead = false
  private var settingsAcknowledged = false
  /// A header block waiting for its CONTINUATION frames.
  private var continuing: (stream: Int32, endStream: Bool, block: ByteBuffer)?
  private var streams: [Int32: Stream] = [:]
  /// The highest stream the client opened.
  private var lastStream: Int32 = 0
  private var receiveWindow = defaultWindow
  private var sendWindow = defaultWindow
  private var peerInitialWindow = defaultWindow
  private var peerMaxFrameSize = maxFrameSize
  /// GOAWAY sent (quiescing, or a connection error): no new stream is taken.
  private var goAwaySent = false
  private var failed = false
  private var settingsSent = false
  private var graceTimer: Scheduled<Void>?
  private var reading = false
  private var flushDue = false
  /// A read deferred while the socket would not take more (backpressure on a client that does not
  /// read what it is sent).
  private var readDeferred = false
  private var resetBudget: ResetBudget

  public init(configuration: Configuration) {
    self.configuration = configuration
    decoder = HeaderBlockDecoder(maximumListSize: configuration.maxHeaderListSize)
    resetBudget = ResetBudget(burst: configuration.resetBurst, perSecond: configuration.resetsPerSecond)
  }

  // MARK: Channel events

  public func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    if context.channel.isActive { sendSettings(context: context) }
  }

  public func handlerRemoved(context: ChannelHandlerContext) {
    dropAll()
    self.context = nil
  }

  public func channelActive(context: ChannelHandlerContext) {
    sendSettings(context: context)
    context.fireChannelActive()
  }

  public func channelInactive(context: ChannelHandlerContext) {
    dropAll()
    context.fireChannelInactive()
  }

  public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is ChannelShouldQuiesceEvent { quiesce(context: context) }
    context.fireUserInboundEventTriggered(event)
  }

  /// Reads only while the socket takes what is written: a client that sends PINGs, SETTINGS or
  /// requests without reading the answers would otherwise grow this end's outbound buffer without
  /// bound (its answers wait here instead, in the client's own socket).
  public func read(context: ChannelHandlerContext) {
    guard context.channel.isWritable else {
      readDeferred = true
      return
    }
    context.read()
  }

  public func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable, readDeferred {
      readDeferred = false
      context.read()
    }
    context.fireChannelWritabilityChanged()
  }

  public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard !failed else { return }
    reading = true
    var bytes = unwrapInboundIn(data)
    if var earlier = unread {
      unread = nil
      earlier.writeBuffer(&bytes)
      bytes = earlier
    }
    do throws(HTTP2ConnectionError) {
      if !prefaceRead {
        guard bytes.readableBytes >= Self.preface.count else {
          guard bytes.readableBytesView.elementsEqual(Self.preface.prefix(bytes.readableBytes)) else {
            throw HTTP2ConnectionError(.protocolError, "the client did not send the HTTP/2 connection preface")
          }
          unread = bytes
          return
        }
        guard bytes.readBytes(length: Self.preface.count) == Self.preface else {
          throw HTTP2ConnectionError(.protocolError, "the client did not send the HTTP/2 connection preface")
        }
        prefaceRead = true
      }
      while let length = FrameHeader.peekLength(in: bytes) {
        guard length <= Self.maxFrameSize else {
          throw HTTP2ConnectionError(.frameSizeError, "a frame of \(length) bytes exceeds SETTINGS_MAX_FRAME_SIZE \(Self.maxFrameSize)")
        }
        guard bytes.readableBytes >= FrameHeader.size + length, let header = FrameHeader.read(from: &bytes),
          let payload = bytes.readSlice(length: length)
        else { break }
        try receive(header, payload, context: context)
        if failed { return }
      }
      if bytes.readableBytes > 0 {
        // Keep only the unfinished frame, not the whole receive buffer it came in.
        var rest = context.channel.allocator.buffer(capacity: bytes.readableBytes)
        rest.writeBuffer(&bytes)
        unread = rest
      }
    } catch {
      fail(error, context: context)
    }
  }

  public func channelReadComplete(context: ChannelHandlerContext) {
    reading = false
    if flushDue {
      flushDue = false
      context.flush()
    }
    context.fireChannelReadComplete()
  }

  // MARK: Frames received

  private func receive(_ header: FrameHeader, _ payload: ByteBuffer, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    if let waiting = continuing {
      guard header.kind == .continuation, header.stream == waiting.stream else {
        throw HTTP2ConnectionError(.protocolError, "a header block on stream \(waiting.stream) was interrupted before its end")
      }
      var block = waiting.block
      block.writeImmutableBuffer(payload)
      guard block.readableBytes <= Self.maxHeaderBlockSize else {
        throw HTTP2ConnectionError(.enhanceYourCalm, "a header block is longer than \(Self.maxHeaderBlockSize) bytes")
      }
      if header.flags.contains(.endHeaders) {
        continuing = nil
        try received(headerBlock: block, on: waiting.stream, endStream: waiting.endStream, context: context)
      } else {
        continuing = (waiting.stream, waiting.endStream, block)
      }
      return
    }
    guard settingsRead || (header.kind == .settings && !header.flags.contains(.ack)) else {
      throw HTTP2ConnectionError(.protocolError, "the client's first frame is not SETTINGS")
    }
    guard let kind = header.kind else { return }  // unknown frame types are ignored (RFC 9113 §5.5)
    switch kind {
    case .data: try receivedData(header, payload, context: context)
    case .headers: try receivedHeaders(header, payload, context: context)
    case .priority:
      try requireStream(header)
      if header.length != 5, streams[header.stream] != nil { try reset(header.stream, .frameSizeError) }
    case .rstStream: try receivedReset(header, payload, context: context)
    case .settings: try receivedSettings(header, payload, context: context)
    case .pushPromise: throw HTTP2ConnectionError(.protocolError, "a client sent PUSH_PROMISE")
    case .ping: try receivedPing(header, payload, context: context)
    case .goAway: try receivedGoAway(header, payload, context: context)
    case .windowUpdate: try receivedWindowUpdate(header, payload, context: context)
    case .continuation: throw HTTP2ConnectionError(.protocolError, "CONTINUATION on stream \(header.stream) follows no header block")
    }
  }

  private func requireStream(_ header: FrameHeader) throws(HTTP2ConnectionError) {
    guard header.stream != 0 else { throw HTTP2ConnectionError(.protocolError, "\(header.kind?.name ?? "a frame") on stream 0") }
  }

  private func requireConnection(_ header: FrameHeader) throws(HTTP2ConnectionError) {
    guard header.stream == 0 else { throw HTTP2ConnectionError(.protocolError, "\(header.kind?.name ?? "a frame") on stream \(header.stream)") }
  }

  /// Removes padding (§6.1): the data and the padding's length, its length byte included.
  private func unpadded(_ payload: ByteBuffer, _ header: FrameHeader) throws(HTTP2ConnectionError) -> (ByteBuffer, padding: Int?) {
    guard header.flags.contains(.padded) else { return (payload, nil) }
    var payload = payload
    guard let padLength = payload.readInteger(as: UInt8.self).map(Int.init), padLength <= payload.readableBytes else {
      throw HTTP2ConnectionError(.protocolError, "a frame on stream \(header.stream) has more padding than payload")
    }
    return (payload.getSlice(at: payload.readerIndex, length: payload.readableBytes - padLength)!, padLength)
  }

  private func receivedData(_ header: FrameHeader, _ payload: ByteBuffer, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    try requireStream(header)
    guard header.length <= receiveWindow else {
      throw HTTP2ConnectionError(.flowControlError, "DATA of \(header.length) bytes exceeds the connection's window of \(receiveWindow)")
    }
    receiveWindow -= header.length
    let (data, padding) = try unpadded(payload, header)
    let id = header.stream
    guard var stream = streams[id] else {
      guard id <= lastStream else { throw HTTP2ConnectionError(.protocolError, "DATA on stream \(id), which was never opened") }
      giveBack(header.length, context: context)  // a closed stream's: dropped
      return
    }
    guard stream.receiving else {
      giveBack(header.length, context: context)
      return try reset(id, .streamClosed)
    }
    stream.receiveWindow -= header.length
    guard stream.receiveWindow >= 0 else {
      giveBack(header.length, context: context)
      return try reset(id, .flowControlError)
    }
    let endStream = header.flags.contains(.endStream)
    if endStream { stream.receiving = false }
    streams[id] = stream
    let frame = HTTP2Frame.FramePayload.Data(data: .byteBuffer(data), endStream: endStream, paddingBytes: padding)
    context.fireChannelRead(wrapInboundOut(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .data(frame))))
    if endStream { closeIfDone(id) }
  }

  private func receivedHeaders(_ header: FrameHeader, _ payload: ByteBuffer, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    try requireStream(header)
    var (block, _) = try unpadded(payload, header)
    if header.flags.contains(.priority) {
      guard block.readableBytes >= 5 else { throw HTTP2ConnectionError(.protocolError, "HEADERS on stream \(header.stream) too short for its priority") }
      block.moveReaderIndex(forwardBy: 5)
    }
    let endStream = header.flags.contains(.endStream)
    if header.flags.contains(.endHeaders) {
      try received(headerBlock: block, on: header.stream, endStream: endStream, context: context)
    } else {
      continuing = (header.stream, endStream, block)
    }
  }

  private func received(headerBlock block: ByteBuffer, on id: Int32, endStream: Bool, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    // Every block is decoded, whatever becomes of its stream: the decoder's table must follow the
    // client's encoder.
    var headers: HPACKHeaders?
    do {
      headers = try decoder.decode(block)
    } catch .headerListTooLarge {
      headers = nil
    } catch {
      throw HTTP2ConnectionError(.compressionError, "a header block on stream \(id) cannot be decoded: \(error)")
    }
    if var stream = streams[id] {
      // Trailers: they end the request.
      guard stream.receiving else { return try reset(id, .streamClosed) }
      guard endStream, let headers else { return try reset(id, .protocolError) }
      stream.receiving = false
      streams[id] = stream
      context.fireChannelRead(wrapInboundOut(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .headers(.init(headers: headers, endStream: true)))))
      closeIfDone(id)
      return
    }
    guard id > lastStream else { return }  // a closed stream's: dropped
    guard id % 2 == 1 else { throw HTTP2ConnectionError(.protocolError, "the client opened stream \(id), an even one") }
    lastStream = id
    guard !goAwaySent else { return }  // after GOAWAY: not served, the client may retry it elsewhere
    guard streams.count < configuration.maxConcurrentStreams else {
      return writeFrame(.rstStream, stream: id, payload: UInt32(HTTP2ErrorCode.refusedStream.networkCode))
    }
    let initialWindow = settingsAcknowledged ? configuration.initialWindowSize : max(configuration.initialWindowSize, Self.defaultWindow)
    streams[id] = Stream(receiving: !endStream, receiveWindow: initialWindow, sendWindow: peerInitialWindow)
    guard let headers else {
      // RFC 9113 §10.5.1: HTTP 431, and the rest of the request is not wanted.
      write(HPACKHeaders([(":status", "431")]), on: id, endStream: true, promise: nil)
      if streams[id]?.receiving == true { try reset(id, .noError) }
      return
    }
    context.fireChannelRead(wrapInboundOut(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .headers(.init(headers: headers, endStream: endStream)))))
    if endStream { closeIfDone(id) }
  }

  private func receivedReset(_ header: FrameHeader, _ payload: ByteBuffer, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    try requireStream(header)
    guard header.length == 4, let code = payload.getInteger(at: payload.readerIndex, as: UInt32.self) else {
      throw HTTP2ConnectionError(.frameSizeError, "RST_STREAM of \(header.length) bytes")
    }
    guard header.stream <= lastStream else { throw HTTP2ConnectionError(.protocolError, "RST_STREAM on stream \(header.stream), which was never opened") }
    guard streams[header.stream] != nil else { return }
    try chargeReset()
    close(header.stream, reason: HTTP2ErrorCode(networkCode: Int(code)))
  }

  /// Streams opened and reset cost this end work and the client nothing (CVE-2023-44487, "rapid
  /// reset"; RFC 9113 §10.5): past the budget the connection is closed.
  private func chargeReset() throws(HTTP2ConnectionError) {
    guard let context else { return }
    guard resetBudget.spend(now: context.eventLoop.now) else {
      throw HTTP2ConnectionError(
        .enhanceYourCalm, "more than \(resetBudget.burst) streams reset at once, or more than \(resetBudget.perSecond) a second after")
    }
  }

  private func receivedSettings(_ header: FrameHeader, _ payload: ByteBuffer, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    try requireConnection(header)
    if header.flags.contains(.ack) {
      guard header.length == 0 else { throw HTTP2ConnectionError(.frameSizeError, "a SETTINGS acknowledgement with a payload") }
      settingsAcknowledged = true
      return
    }
    guard header.length % 6 == 0 else { throw HTTP2ConnectionError(.frameSizeError, "SETTINGS of \(header.length) bytes, not a multiple of 6") }
    settingsRead = true
    var payload = payload
    var windowDelta = 0
    while let identifier = payload.readInteger(as: UInt16.self), let value = payload.readInteger(as: UInt32.self).map(Int.init) {
      switch identifier {
      case 0x2:  // SETTINGS_ENABLE_PUSH
        guard value <= 1 else { throw HTTP2ConnectionError(.protocolError, "SETTINGS_ENABLE_PUSH is \(value)") }
      case 0x4:  // SETTINGS_INITIAL_WINDOW_SIZE
        guard value <= Self.maxWindow else { throw HTTP2ConnectionError(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE is \(value)") }
        windowDelta += value - peerInitialWindow
        peerInitialWindow = value
      case 0x5:  // SETTINGS_MAX_FRAME_SIZE
        guard (Self.maxFrameSize...16_777_215).contains(value) else { throw HTTP2ConnectionError(.protocolError, "SETTINGS_MAX_FRAME_SIZE is \(value)") }
        peerMaxFrameSize = value
      default:
        break  // the table size (this end indexes nothing), limits on what this end does not do, unknown ones
      }
    }
    if windowDelta != 0 {
      for id in streams.keys {
        streams[id]!.sendWindow += windowDelta
        guard streams[id]!.sendWindow <= Self.maxWindow else {
          throw HTTP2ConnectionError(.flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE takes stream \(id)'s window beyond 2^31-1")
        }
      }
    }
    writeFrame(.settings, flags: .ack, stream: 0)
    if windowDelta > 0 { releaseAll() }
  }

  private func receivedPing(_ header: FrameHeader, _ payload: ByteBuffer, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    try requireConnection(header)
    guard header.length == 8, let data = payload.getInteger(at: payload.readerIndex, as: UInt64.self) else {
      throw HTTP2ConnectionError(.frameSizeError, "PING of \(header.length) bytes")
    }
    let ack = header.flags.contains(.ack)
    if !ack { writeFrame(.ping, flags: .ack, stream: 0, payload: data) }
    context.fireChannelRead(wrapInboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: data), ack: ack))))
  }

  private func receivedGoAway(_ header: FrameHeader, _ payload: ByteBuffer, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    try requireConnection(header)
    guard header.length >= 8, let last = payload.getInteger(at: payload.readerIndex, as: UInt32.self),
      let code = payload.getInteger(at: payload.readerIndex + 4, as: UInt32.self)
    else { throw HTTP2ConnectionError(.frameSizeError, "GOAWAY of \(header.length) bytes") }
    let frame = HTTP2Frame.FramePayload.goAway(
      lastStreamID: HTTP2StreamID(Int32(bitPattern: last & 0x7FFF_FFFF)), errorCode: HTTP2ErrorCode(networkCode: Int(code)), opaqueData: nil)
    context.fireChannelRead(wrapInboundOut(HTTP2Frame(streamID: .rootStream, payload: frame)))
  }

  private func receivedWindowUpdate(_ header: FrameHeader, _ payload: ByteBuffer, context: ChannelHandlerContext) throws(HTTP2ConnectionError) {
    guard header.length == 4, let raw = payload.getInteger(at: payload.readerIndex, as: UInt32.self) else {
      throw HTTP2ConnectionError(.frameSizeError, "WINDOW_UPDATE of \(header.length) bytes")
    }
    let increment = Int(raw & 0x7FFF_FFFF)
    let id = header.stream
    if id == 0 {
      guard increment > 0 else { throw HTTP2ConnectionError(.protocolError, "WINDOW_UPDATE of 0 on the connection") }
      sendWindow += increment
      guard sendWindow <= Self.maxWindow else { throw HTTP2ConnectionError(.flowControlError, "the connection's send window beyond 2^31-1") }
      releaseAll()
    } else if var stream = streams[id] {
      guard increment > 0 else { return try reset(id, .protocolError) }
      stream.sendWindow += increment
      guard stream.sendWindow <= Self.maxWindow else { return try reset(id, .flowControlError) }
      streams[id] = stream
      release(id)
    } else if id > lastStream {
      throw HTTP2ConnectionError(.protocolError, "WINDOW_UPDATE on stream \(id), which was never opened")
    }
    context.fireChannelRead(wrapInboundOut(HTTP2Frame(streamID: HTTP2StreamID(id), payload: .windowUpdate(windowSizeIncrement: increment))))
  }

  /// Returns to the connection's window what this handler dropped (the next handler never saw it).
  private func giveBack(_ bytes: Int, context: ChannelHandlerContext) {
    guard bytes > 0 else { return }
    receiveWindow += bytes
    writeFrame(.windowUpdate, stream: 0, payload: UInt32(bytes))
  }

  // MARK: Frames written

  public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    let frame = unwrapOutboundIn(data)
    let id = Int32(frame.streamID)
    switch frame.payload {
    case .headers(let headers):
      write(headers.headers, on: id, endStream: headers.endStream, promise: promise)
    case .data(let data):
      guard case .byteBuffer(let bytes) = data.data else {
        promise?.fail(HTTP2UnsupportedFrameError(frame: "DATA not in a ByteBuffer"))
        return
      }
      write(bytes, on: id, endStream: data.endStream, promise: promise)
    case .windowUpdate(let increment):
      if id == 0 {
        receiveWindow += increment
      } else if streams[id] != nil {
        streams[id]!.receiveWindow += increment
      }
      writeFrame(.windowUpdate, stream: id, payload: UInt32(increment), promise: promise)
    case .ping(let data, let ack):
      writeFrame(.ping, flags: ack ? .ack : [], stream: 0, payload: data.integer, promise: promise)
    case .rstStream(let code):
      writeFrame(.rstStream, stream: id, payload: UInt32(code.networkCode), promise: promise)
      if streams[id] != nil { close(id, reason: code) }
    case .goAway(let last, let code, _):
      goAwaySent = true
      writeGoAway(code, last: Int32(last), reason: nil, promise: promise)
    default:
      promise?.fail(HTTP2UnsupportedFrameError(frame: "\(frame.payload)"))
    }
  }

  /// Headers (a response's, or trailers with END_STREAM), behind the stream's held DATA if any.
  private func write(_ headers: HPACKHeaders, on id: Int32, endStream: Bool, promise: EventLoopPromise<Void>?) {
    guard var stream = streams[id], stream.sending else {
      promise?.fail(HTTP2StreamClosedError(stream: id, reason: nil))
      return
    }
    if endStream { stream.sending = false }
    if stream.held != nil {
      stream.held!.append(.headers(headers, endStream: endStream, promise: promise))
      streams[id] = stream
      return
    }
    streams[id] = stream
    emit(headers, on: id, endStream: endStream, promise: promise)
    if endStream { closeIfDone(id) }
  }

  private func write(_ bytes: ByteBuffer, on id: Int32, endStream: Bool, promise: EventLoopPromise<Void>?) {
    guard var stream = streams[id], stream.sending else {
      promise?.fail(HTTP2StreamClosedError(stream: id, reason: nil))
      return
    }
    if endStream { stream.sending = false }
    let size = bytes.readableBytes
    if stream.held == nil, size <= min(stream.sendWindow, sendWindow, peerMaxFrameSize) {
      stream.sendWindow -= size
      sendWindow -= size
      streams[id] = stream
      emit(bytes, on: id, endStream: endStream, promise: promise)
      if endStream { closeIfDone(id) }
      return
    }
    if stream.held == nil { stream.held = CircularBuffer(initialCapacity: 4) }
    stream.held!.append(.data(bytes, endStream: endStream, promise: promise))
    streams[id] = stream
    release(id)
  }

  /// Writes what a stream holds as far as the windows allow. The held writes are changed in
  /// place in `streams`, so a write made meanwhile (a promise's callback) queues behind them.
  private func release(_ id: Int32) {
    loop: while let next = streams[id]?.held?.first {
      switch next {
      case .headers(let headers, let endStream, let promise):
        streams[id]!.held!.removeFirst()
        emit(headers, on: id, endStream: endStream, promise: promise)
      case .data(var bytes, let endStream, let promise):
        let allowed = min(streams[id]!.sendWindow, sendWindow, peerMaxFrameSize)
        let size = min(bytes.readableBytes, max(allowed, 0))
        guard size == bytes.readableBytes || size > 0 else { break loop }
        let whole = size == bytes.readableBytes
        let part = whole ? bytes : bytes.readSlice(length: size)!
        if whole {
          streams[id]!.held!.removeFirst()
        } else {
          streams[id]!.held![streams[id]!.held!.startIndex] = .data(bytes, endStream: endStream, promise: promise)
        }
        streams[id]!.sendWindow -= size
        sendWindow -= size
        emit(part, on: id, endStream: whole && endStream, promise: whole ? promise : nil)
      }
    }
    if streams[id]?.held?.isEmpty == true {
      streams[id]!.held = nil
      closeIfDone(id)
    }
  }

  private func releaseAll() {
    let waiting = streams.compactMap { $0.value.held != nil ? $0.key : nil }
    for id in waiting where sendWindow > 0 { release(id) }
  }

  // MARK: Streams and the connection

  /// Forgets a stream that is closed in both directions.
  private func closeIfDone(_ id: Int32) {
    guard let stream = streams[id], !stream.receiving, !stream.sending, stream.held == nil else { return }
    close(id, reason: nil)
  }

  /// Forgets a stream, fails what it held, and tells the next handler.
  private func close(_ id: Int32, reason: HTTP2ErrorCode?) {
    guard let stream = streams.removeValue(forKey: id) else { return }
    if let held = stream.held { failHeld(held, stream: id, reason: reason) }
    context?.fireUserInboundEventTriggered(StreamClosedEvent(streamID: HTTP2StreamID(id), reason: reason))
    if goAwaySent, streams.isEmpty { closeConnection() }
  }

  /// Resets a stream from this end (a stream error, RFC 9113 §5.4.2). An error, unlike NO_ERROR,
  /// is charged to the connection's reset budget.
  private func reset(_ id: Int32, _ code: HTTP2ErrorCode) throws(HTTP2ConnectionError) {
    if code != .noError { try chargeReset() }
    writeFrame(.rstStream, stream: id, payload: UInt32(code.networkCode))
    close(id, reason: code)
  }

  private func failHeld(_ held: CircularBuffer<HeldWrite>, stream id: Int32, reason: HTTP2ErrorCode?) {
    for write in held {
      switch write {
      case .data(_, _, let promise), .headers(_, _, let promise):
        promise?.fail(HTTP2StreamClosedError(stream: id, reason: reason))
      }
    }
  }

  private func dropAll() {
    graceTimer?.cancel()
    graceTimer = nil
    let open = streams
    streams = [:]
    for (id, stream) in open { if let held = stream.held { failHeld(held, stream: id, reason: nil) } }
  }

  private func quiesce(context: ChannelHandlerContext) {
    guard !goAwaySent, !failed else { return }
    goAwaySent = true
    writeGoAway(.noError, reason: nil)
    context.flush()
    if streams.isEmpty { return closeConnection() }
    if let gracePeriod = configuration.gracePeriod {
      let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
      graceTimer = context.eventLoop.scheduleTask(in: gracePeriod) { bound.value.closeConnection() }
    }
  }

  private func closeConnection() {
    guard let context else { return }
    context.flush()
    context.close(promise: nil)
  }

  /// A connection error (RFC 9113 §5.4.1): GOAWAY with its code, then the connection is closed.
  private func fail(_ error: HTTP2ConnectionError, context: ChannelHandlerContext) {
    guard !failed else { return }
    failed = true
    goAwaySent = true
    writeGoAway(error.code, reason: error.reason)
    context.flush()
    context.fireErrorCaught(error)
    context.close(promise: nil)
  }

  // MARK: Encoding

  private func sendSettings(context: ChannelHandlerContext) {
    guard !settingsSent else { return }
    settingsSent = true
    var buffer = context.channel.allocator.buffer(capacity: FrameHeader.size + 18)
    FrameHeader.write(length: 18, kind: .settings, stream: 0, into: &buffer)
    for (identifier, value) in [(0x3, configuration.maxConcurrentStreams), (0x4, configuration.initialWindowSize), (0x6, configuration.maxHeaderListSize)] {
      buffer.writeInteger(UInt16(identifier))
      buffer.writeInteger(UInt32(clamping: value))
    }
    context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
  }

  /// GOAWAY naming `last` (by default the last stream the client opened) and, as debug data, why.
  private func writeGoAway(_ code: HTTP2ErrorCode, last: Int32? = nil, reason: String?, promise: EventLoopPromise<Void>? = nil) {
    guard let context else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    let debug = reason.map { Array($0.utf8.prefix(256)) } ?? []
    var buffer = context.channel.allocator.buffer(capacity: FrameHeader.size + 8 + debug.count)
    FrameHeader.write(length: 8 + debug.count, kind: .goAway, stream: 0, into: &buffer)
    buffer.writeInteger(UInt32(last ?? lastStream))
    buffer.writeInteger(UInt32(code.networkCode))
    buffer.writeBytes(debug)
    emit(buffer, promise: promise)
  }

  private func writeFrame(_ kind: FrameHeader.Kind, flags: FrameHeader.Flags = [], stream: Int32, promise: EventLoopPromise<Void>? = nil) {
    guard let context else { return }
    var buffer = context.channel.allocator.buffer(capacity: FrameHeader.size)
    FrameHeader.write(length: 0, kind: kind, flags: flags, stream: stream, into: &buffer)
    emit(buffer, promise: promise)
  }

  private func writeFrame<Payload: FixedWidthInteger>(
    _ kind: FrameHeader.Kind, flags: FrameHeader.Flags = [], stream: Int32, payload: Payload, promise: EventLoopPromise<Void>? = nil
  ) {
    guard let context else { return }
    var buffer = context.channel.allocator.buffer(capacity: FrameHeader.size + MemoryLayout<Payload>.size)
    FrameHeader.write(length: MemoryLayout<Payload>.size, kind: kind, flags: flags, stream: stream, into: &buffer)
    buffer.writeInteger(payload)
    emit(buffer, promise: promise)
  }

  /// A header block as HEADERS (one buffer: the block is encoded behind room for the frame's
  /// header), and CONTINUATION frames if it exceeds the peer's frame size.
  private func emit(_ headers: HPACKHeaders, on id: Int32, endStream: Bool, promise: EventLoopPromise<Void>?) {
    guard let context else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    var buffer = context.channel.allocator.buffer(capacity: FrameHeader.size + 128)
    buffer.moveWriterIndex(forwardBy: FrameHeader.size)
    HeaderBlockEncoder.encode(headers, into: &buffer)
    let length = buffer.readableBytes - FrameHeader.size
    let flags: FrameHeader.Flags = endStream ? .endStream : []
    if length <= peerMaxFrameSize {
      FrameHeader.set(length: length, kind: .headers, flags: flags.union(.endHeaders), stream: id, in: &buffer, at: buffer.readerIndex)
      return emit(buffer, promise: promise)
    }
    buffer.moveReaderIndex(forwardBy: FrameHeader.size)
    var frames = context.channel.allocator.buffer(capacity: length + FrameHeader.size * (1 + length / peerMaxFrameSize))
    var kind = FrameHeader.Kind.headers
    var frameFlags = flags
    while buffer.readableBytes > 0 {
      let part = buffer.readSlice(length: min(buffer.readableBytes, peerMaxFrameSize))!
      if buffer.readableBytes == 0 { frameFlags.insert(.endHeaders) }
      FrameHeader.write(length: part.readableBytes, kind: kind, flags: frameFlags, stream: id, into: &frames)
      frames.writeImmutableBuffer(part)
      kind = .continuation
      frameFlags = []
    }
    emit(frames, promise: promise)
  }

  /// One DATA frame (within the windows and the peer's frame size, as the caller made sure).
  private func emit(_ bytes: ByteBuffer, on id: Int32, endStream: Bool, promise: EventLoopPromise<Void>?) {
    guard let context else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    var header = context.channel.allocator.buffer(capacity: FrameHeader.size + (bytes.readableBytes <= 1024 ? bytes.readableBytes : 0))
    FrameHeader.write(length: bytes.readableBytes, kind: .data, flags: endStream ? .endStream : [], stream: id, into: &header)
    if bytes.readableBytes <= 1024 {
      // A small message goes in one buffer with its frame header: one write, not two.
      header.writeImmutableBuffer(bytes)
      emit(header, promise: promise)
    } else {
      emit(header, promise: nil)
      emit(bytes, promise: promise)
    }
  }

  private func emit(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
    guard let context else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    context.write(wrapOutboundOut(buffer), promise: promise)
    if reading { flushDue = true }
  }
}

/// A connection error (RFC 9113 §5.4.1): the code sent in GOAWAY and why, for logs.
public struct HTTP2ConnectionError: Error, CustomStringConvertible {
  public let code: HTTP2ErrorCode
  public let reason: String

  init(_ code: HTTP2ErrorCode, _ reason: String) {
    self.code = code
    self.reason = reason
  }

  public var description: String { "HTTP/2 connection error \(code): \(reason)" }
}

/// A write on a stream that is closed, or was reset before the write left.
public struct HTTP2StreamClosedError: Error, CustomStringConvertible {
  public let stream: Int32
  public let reason: HTTP2ErrorCode?

  public var description: String { "HTTP/2 stream \(stream) is closed" + (reason.map { " (\($0))" } ?? "") }
}

/// A frame this server end does not write (SETTINGS, PUSH_PROMISE, …, or DATA not in a ByteBuffer).
public struct HTTP2UnsupportedFrameError: Error, CustomStringConvertible {
  public let frame: String
  public var description: String { "this HTTP/2 server does not write \(frame)" }
}

import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import WarrenHTTP2

/// A frame as the server wrote it.
struct WrittenFrame: Equatable, CustomStringConvertible {
  var type: UInt8
  var flags: UInt8
  var stream: UInt32
  var payload: [UInt8]

  var description: String { "type \(type) flags \(flags) stream \(stream) \(payload.count) bytes" }

  /// A GOAWAY's last stream and error code.
  var goAway: (last: UInt32, code: UInt32, reason: String)? {
    guard type == 7, payload.count >= 8 else { return nil }
    let last = payload[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    let code = payload[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    return (last, code, String(decoding: payload[8...], as: UTF8.self))
  }
}

/// One server connection on an embedded channel, driven with raw bytes, with what reached the
/// next handler recorded.
final class ServerConnection {
  let channel = EmbeddedChannel()
  let recorder = Recorder()

  final class Recorder: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    var closed: [(stream: HTTP2StreamID, reason: HTTP2ErrorCode?)] = []
    var errors: [any Error] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
      if let event = event as? StreamClosedEvent { closed.append((event.streamID, event.reason)) }
      context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { errors.append(error) }
  }

  /// `opened`: the client's preface and SETTINGS are sent (with `clientSettings`).
  init(_ configuration: HTTP2ServerConnectionHandler.Configuration = .init(), clientSettings: [(UInt16, UInt32)] = [], opened: Bool = true) throws {
    try channel.pipeline.syncOperations.addHandler(HTTP2ServerConnectionHandler(configuration: configuration))
    try channel.pipeline.syncOperations.addHandler(recorder)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    if opened { try send(HTTP2ServerConnectionHandler.preface + Self.settings(clientSettings)) }
  }

  static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
    [UInt8(payload.count >> 16), UInt8(truncatingIfNeeded: payload.count >> 8), UInt8(truncatingIfNeeded: payload.count), type, flags]
      + withUnsafeBytes(of: stream.bigEndian, Array.init) + payload
  }

  static func settings(_ pairs: [(UInt16, UInt32)]) -> [UInt8] {
    frame(4, pairs.flatMap { withUnsafeBytes(of: $0.0.bigEndian, Array.init) + withUnsafeBytes(of: $0.1.bigEndian, Array.init) })
  }

  static func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

  /// A request's header block, encoded by NIOHPACK (an encoder this package did not write).
  static func block(_ headers: [(String, String)]) throws -> [UInt8] {
    var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
    var buffer = ByteBuffer()
    try encoder.encode(headers: HPACKHeaders(headers), to: &buffer)
    return Array(buffer.readableBytesView)
  }

  static let request = [(":method", "POST"), (":scheme", "http"), (":path", "/p"), ("content-type", "application/grpc")]

  func send(_ bytes: [UInt8]) throws { try channel.writeInbound(ByteBuffer(bytes: bytes)) }

  /// Everything the server wrote since the last call, as frames.
  func written() throws -> [WrittenFrame] {
    var bytes: [UInt8] = []
    while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
    var frames: [WrittenFrame] = []
    var at = 0
    while at + 9 <= bytes.count {
      let length = Int(bytes[at]) << 16 | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
      let stream = bytes[at + 5..<at + 9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      frames.append(WrittenFrame(type: bytes[at + 3], flags: bytes[at + 4], stream: stream, payload: Array(bytes[at + 9..<at + 9 + length])))
      at += 9 + length
    }
    #expect(at == bytes.count, "the server wrote a partial frame")
    return frames
  }

  /// The frames that reached the next handler since the last call.
  func received() throws -> [HTTP2Frame] {
    var frames: [HTTP2Frame] = []
    while let frame = try channel.readInbound(as: HTTP2Frame.self) { frames.append(frame) }
    return frames
  }

  /// Opens the connection's handshake and forgets it: the server's SETTINGS and its ACK of ours.
  func handshake() throws -> [WrittenFrame] { try written() }
}

@Suite("HTTP/2 server connection (RFC 9113), driven byte by byte")
struct HTTP2ServerConnectionHandlerTests {
  @Test("the server's SETTINGS: concurrent streams, initial window, header list size; the client's acknowledged")
  func settings() throws {
    let connection = try ServerConnection(.init(maxConcurrentStreams: 7, initialWindowSize: 1_000_000, maxHeaderListSize: 9000))
    let frames = try connection.written()
    #expect(frames.count == 2)
    #expect(frames[0] == WrittenFrame(type: 4, flags: 0, stream: 0, payload: [0, 3, 0, 0, 0, 7, 0, 4, 0, 0x0F, 0x42, 0x40, 0, 6, 0, 0, 0x23, 0x28]))
    #expect(frames[1] == WrittenFrame(type: 4, flags: 1, stream: 0, payload: []))
  }

  @Test("a request reaches the next handler as one HEADERS and its DATA; the answer leaves as HEADERS, DATA, trailers; the stream then closes")
  func exchange() throws {
    let connection = try ServerConnection()
    _ = try connection.handshake()
    let block = try ServerConnection.block(ServerConnection.request)
    // The header block split over HEADERS and a CONTINUATION; DATA padded with 3 bytes.
    try connection.send(
      ServerConnection.frame(1, flags: 0, stream: 1, Array(block.prefix(3))) + ServerConnection.frame(9, flags: 4, stream: 1, Array(block.dropFirst(3)))
        + ServerConnection.frame(0, flags: 0x9, stream: 1, [3, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0]))
    let received = try connection.received()
    #expect(received.count == 2)
    guard case .headers(let headers) = received.first?.payload, case .data(let data) = received.last?.payload else {
      Issue.record("expected HEADERS then DATA, got \(received)")
      return
    }
    #expect(headers.headers.map { "\($0.name): \($0.value)" } == ServerConnection.request.map { "\($0.0): \($0.1)" })
    #expect(!headers.endStream && data.endStream && data.paddingBytes == 3)
    #expect(data.data == .byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 5, 1, 2, 3, 4, 5])))
    #expect(connection.recorder.closed.isEmpty)

    try connection.channel.writeOutbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: [":status": "200"]))))
    try connection.channel.writeOutbound(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 0]))))))
    try connection.channel.writeOutbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: ["grpc-status": "0"], endStream: true))))
    #expect(
      try connection.written() == [
        WrittenFrame(type: 1, flags: 4, stream: 1, payload: [0x88]),
        WrittenFrame(type: 0, flags: 0, stream: 1, payload: [0, 0, 0, 0, 0]),
        WrittenFrame(type: 1, flags: 5, stream: 1, payload: [0x00, 11] + Array("grpc-status".utf8) + [1, UInt8(ascii: "0")]),
      ])
    #expect(connection.recorder.closed.map(\.stream) == [1])
    // The stream is gone: a write on it fails.
    #expect(throws: HTTP2StreamClosedError.self) {
      try connection.channel.writeOutbound(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer())))))
    }
  }

  @Test("DATA waits for the stream's window and the connection's, is split to fit, and its promise completes with its last byte")
  func flowControl() throws {
    let connection = try ServerConnection(clientSettings: [(0x4, 10)])  // a stream window of 10
    _ = try connection.handshake()
    try connection.send(ServerConnection.frame(1, flags: 0x5, stream: 1, try ServerConnection.block(ServerConnection.request)))
    _ = try connection.received()
    let sent = connection.channel.write(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: Array(0..<25)))))))
    let trailers = connection.channel.write(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: ["grpc-status": "0"], endStream: true))))
    connection.channel.flush()
    #expect(try connection.written() == [WrittenFrame(type: 0, flags: 0, stream: 1, payload: Array(0..<10))])
    var done = false
    sent.assumeIsolated().whenSuccess { done = true }
    try connection.send(ServerConnection.frame(8, stream: 1, ServerConnection.u32(10)))
    #expect(try connection.written() == [WrittenFrame(type: 0, flags: 0, stream: 1, payload: Array(10..<20))])
    #expect(!done)
    try connection.send(ServerConnection.frame(8, stream: 1, ServerConnection.u32(100)))
    let last = try connection.written()
    #expect(last.map(\.type) == [0, 1] && last[0].payload == Array(20..<25) && last[1].flags == 5)
    #expect(done)
    try trailers.wait()
    #expect(connection.recorder.closed.map(\.stream) == [1])

    // The connection's window (65,535) holds back a second stream's large message; frames are at
    // most 16,384 bytes.
    let big = try ServerConnection(clientSettings: [(0x4, 1 << 20)])
    _ = try big.handshake()
    try big.send(ServerConnection.frame(1, flags: 0x5, stream: 1, try ServerConnection.block(ServerConnection.request)))
    big.channel.write(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(repeating: 7, count: 70_000))))), promise: nil)
    big.channel.flush()
    #expect(try big.written().map(\.payload.count) == [16_384, 16_384, 16_384, 16_383])
    try big.send(ServerConnection.frame(8, stream: 0, ServerConnection.u32(100_000)))
    #expect(try big.written().map(\.payload.count) == [4_465])
  }

  @Test("a header block larger than the peer's frame size leaves as HEADERS and CONTINUATION, END_HEADERS on the last")
  func continuationWritten() throws {
    let connection = try ServerConnection()
    _ = try connection.handshake()
    try connection.send(ServerConnection.frame(1, flags: 0x5, stream: 1, try ServerConnection.block(ServerConnection.request)))
    let message = String(repeating: "m", count: 20_000)
    try connection.channel.writeOutbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: ["grpc-message": message], endStream: true))))
    let frames = try connection.written()
    #expect(frames.map(\.type) == [1, 9])
    #expect(frames.map(\.flags) == [1, 4])
    #expect(frames[0].payload.count == 16_384)
    var decoder = HPACKDecoder(allocator: ByteBufferAllocator(), maxDynamicTableSize: 4096, maxHeaderListSize: 1 << 20)
    var block = ByteBuffer(bytes: frames[0].payload + frames[1].payload)
    #expect(try decoder.decodeHeaders(from: &block).first(name: "grpc-message") == message)
    #expect(connection.recorder.closed.map(\.stream) == [1])
  }

  @Test("a stream reset by the client fails what it held and is announced with its code")
  func resetByClient() throws {
    let connection = try ServerConnection(clientSettings: [(0x4, 0)])
    _ = try connection.handshake()
    try connection.send(ServerConnection.frame(1, flags: 0x5, stream: 1, try ServerConnection.block(ServerConnection.request)))
    let held = connection.channel.write(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [1]))))))
    connection.channel.flush()
    try connection.send(ServerConnection.frame(3, stream: 1, ServerConnection.u32(8)))  // CANCEL
    #expect(throws: HTTP2StreamClosedError.self) { try held.wait() }
    #expect(connection.recorder.closed.map(\.stream) == [1])
    #expect(connection.recorder.closed.first?.reason == .cancel)
    #expect(try connection.written().isEmpty)
  }

  @Test("streams reset faster than the budget close the connection with ENHANCE_YOUR_CALM; the budget refills with time")
  func rapidReset() throws {
    let connection = try ServerConnection(.init(resetBurst: 3, resetsPerSecond: 1))
    _ = try connection.handshake()
    func openAndReset(_ stream: UInt32) throws {
      try connection.send(
        ServerConnection.frame(1, flags: 4, stream: stream, try ServerConnection.block(ServerConnection.request))
          + ServerConnection.frame(3, stream: stream, ServerConnection.u32(8)))
    }
    for stream in [1, 3, 5] as [UInt32] { try openAndReset(stream) }
    connection.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
    try openAndReset(7)
    #expect(try connection.written().isEmpty)
    #expect(connection.channel.isActive)
    try openAndReset(9)
    let goAway = try #require(try connection.written().last?.goAway)
    #expect(goAway.code == 11 && goAway.last == 9)
    #expect(!connection.channel.isActive)
  }

  @Test("no read while the socket takes nothing more: a client that does not read its answers cannot grow the server's buffer")
  func backpressure() throws {
    final class ReadCounter: ChannelOutboundHandler {
      typealias OutboundIn = Any
      var reads = 0
      func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
      }
    }
    let connection = try ServerConnection()
    let counter = ReadCounter()
    try connection.channel.pipeline.syncOperations.addHandler(counter, position: .first)
    connection.channel.read()
    #expect(counter.reads == 1)
    connection.channel.isWritable = false
    connection.channel.pipeline.fireChannelWritabilityChanged()
    connection.channel.read()
    #expect(counter.reads == 1)
    connection.channel.isWritable = true
    connection.channel.pipeline.fireChannelWritabilityChanged()
    #expect(counter.reads == 2)
  }

  @Test("PING is answered with its data and passed on")
  func ping() throws {
    let connection = try ServerConnection()
    _ = try connection.handshake()
    try connection.send(ServerConnection.frame(6, stream: 0, [1, 2, 3, 4, 5, 6, 7, 8]))
    #expect(try connection.written() == [WrittenFrame(type: 6, flags: 1, stream: 0, payload: [1, 2, 3, 4, 5, 6, 7, 8])])
    #expect(try connection.received().map(\.payload.isPing) == [true])
  }

  @Test("connection errors: GOAWAY with the RFC's code and a reason, the error passed on, the connection closed", arguments: [
    Violation("not the preface", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), code: 1),
    Violation("DATA on stream 0", ServerConnection.frame(0, stream: 0, [1]), code: 1),
    Violation("a frame beyond 16,384 bytes", ServerConnection.frame(0, stream: 1, [UInt8](repeating: 0, count: 16_385)), code: 6),
    Violation("an interrupted header block", ServerConnection.frame(1, stream: 1, [0x82]) + ServerConnection.frame(6, stream: 0, [UInt8](repeating: 0, count: 8)), code: 1),
    Violation("CONTINUATION alone", ServerConnection.frame(9, flags: 4, stream: 1, [0x82]), code: 1),
    Violation("a stream opened by an even id", ServerConnection.frame(1, flags: 5, stream: 2, [0x83, 0x86, 0x84]), code: 1),
    Violation("a header block that does not decode", ServerConnection.frame(1, flags: 5, stream: 1, [0xBE]), code: 9),
    Violation("the connection's send window beyond 2^31-1", ServerConnection.frame(8, stream: 0, ServerConnection.u32(0x7FFF_FFFF)), code: 3),
    Violation("a WINDOW_UPDATE of 0", ServerConnection.frame(8, stream: 0, ServerConnection.u32(0)), code: 1),
    Violation("SETTINGS of 5 bytes", ServerConnection.frame(4, stream: 0, [0, 1, 0, 0, 0]), code: 6),
    Violation("PUSH_PROMISE from a client", ServerConnection.frame(5, flags: 4, stream: 1, [0, 0, 0, 2]), code: 1),
    Violation("DATA on a stream never opened", ServerConnection.frame(0, stream: 5, [1]), code: 1),
    Violation("PING of 7 bytes", ServerConnection.frame(6, stream: 0, [UInt8](repeating: 0, count: 7)), code: 6),
  ] as [Violation])
  func connectionErrors(_ violation: Violation) throws {
    let (name, bytes, code) = (violation.name, violation.bytes, violation.code)
    let preface = name != "not the preface"
    let connection = try ServerConnection(opened: preface)
    _ = try connection.handshake()
    try connection.send(bytes)
    let goAway = try #require(try connection.written().last?.goAway, "\(name)")
    #expect(goAway.code == code, "\(name): \(goAway.reason)")
    #expect(!goAway.reason.isEmpty)
    #expect(connection.recorder.errors.count == 1)
    #expect(!connection.channel.isActive, "\(name)")
  }

  @Test("a request's DATA beyond the connection's window is a FLOW_CONTROL_ERROR; the next handler's WINDOW_UPDATE opens it")
  func receiveWindow() throws {
    let connection = try ServerConnection(.init(initialWindowSize: 1 << 20))
    _ = try connection.handshake()
    try connection.send(ServerConnection.frame(1, flags: 4, stream: 1, try ServerConnection.block(ServerConnection.request)))
    let chunk = [UInt8](repeating: 1, count: 16_384)
    for _ in 0..<3 { try connection.send(ServerConnection.frame(0, stream: 1, chunk)) }
    try connection.channel.writeOutbound(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: 16_384)))
    for _ in 0..<2 { try connection.send(ServerConnection.frame(0, stream: 1, chunk)) }  // 81,920 of 81,919
    #expect(try connection.written().last?.goAway?.code == 3)
  }

  @Test("GOAWAY on quiescing names the last stream; later streams are not served; the connection closes when the last stream ends")
  func quiesce() throws {
    let connection = try ServerConnection()
    _ = try connection.handshake()
    try connection.send(ServerConnection.frame(1, flags: 4, stream: 1, try ServerConnection.block(ServerConnection.request)))
    _ = try connection.received()
    connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    #expect(try connection.written().map { $0.goAway?.last } == [1])
    try connection.send(ServerConnection.frame(1, flags: 5, stream: 3, try ServerConnection.block(ServerConnection.request)))
    #expect(try connection.received().isEmpty)
    #expect(connection.channel.isActive)
    try connection.send(ServerConnection.frame(0, flags: 1, stream: 1))
    try connection.channel.writeOutbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: [":status": "200"], endStream: true))))
    #expect(!connection.channel.isActive)
  }

  @Test("after GOAWAY the grace period ends what is still open")
  func gracePeriod() throws {
    let connection = try ServerConnection(.init(gracePeriod: .seconds(5)))
    _ = try connection.handshake()
    try connection.send(ServerConnection.frame(1, flags: 4, stream: 1, try ServerConnection.block(ServerConnection.request)))
    connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    connection.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
    #expect(connection.channel.isActive)
    connection.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
    #expect(!connection.channel.isActive)
  }

  @Test("a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS is refused; a header list beyond the limit is answered 431")
  func limits() throws {
    let connection = try ServerConnection(.init(maxConcurrentStreams: 1, maxHeaderListSize: 300))
    _ = try connection.handshake()
    try connection.send(ServerConnection.frame(1, flags: 4, stream: 1, try ServerConnection.block(ServerConnection.request)))
    try connection.send(ServerConnection.frame(1, flags: 4, stream: 3, try ServerConnection.block(ServerConnection.request)))
    #expect(try connection.written() == [WrittenFrame(type: 3, flags: 0, stream: 3, payload: [0, 0, 0, 7])])
    #expect(try connection.received().count == 1)
    try connection.send(ServerConnection.frame(3, stream: 1, ServerConnection.u32(8)))
    _ = try connection.written()

    let long = ServerConnection.request + [("x-long", String(repeating: "v", count: 300))]
    try connection.send(ServerConnection.frame(1, flags: 4, stream: 5, try ServerConnection.block(long)))
    #expect(try connection.written() == [
      WrittenFrame(type: 1, flags: 5, stream: 5, payload: [0x08, 3] + Array("431".utf8)),
      WrittenFrame(type: 3, flags: 0, stream: 5, payload: [0, 0, 0, 0]),
    ])
    #expect(try connection.received().isEmpty)
    #expect(connection.channel.isActive)
  }

  @Test("NIOHTTP2's client, an implementation this package did not write, talks to this server: Huffman, its table, many streams")
  func nioClient() throws {
    let server = try ServerConnection(opened: false)
    let client = EmbeddedChannel()
    try client.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client))
    try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    func shuttle() throws {
      var moved = true
      while moved {
        moved = false
        while let bytes = try client.readOutbound(as: ByteBuffer.self) {
          try server.channel.writeInbound(bytes)
          moved = true
        }
        while let bytes = try server.channel.readOutbound(as: ByteBuffer.self) {
          try client.writeInbound(bytes)
          moved = true
        }
      }
    }
    try shuttle()
    for stream in stride(from: 1, through: 39, by: 2) {
      let id = HTTP2StreamID(stream)
      let request = HPACKHeaders(ServerConnection.request + [("user-agent", "grpc-swift/2"), ("x-stream", "\(stream)")])
      try client.writeOutbound(HTTP2Frame(streamID: id, payload: .headers(.init(headers: request))))
      try client.writeOutbound(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 1, UInt8(stream)])), endStream: true))))
      try shuttle()
      let received = try server.received()
      guard received.count == 2, case .headers(let headers) = received[0].payload, case .data(let data) = received[1].payload else {
        Issue.record("stream \(stream): \(received)")
        return
      }
      #expect(headers.headers.first(name: "x-stream") == "\(stream)")
      #expect(headers.headers.first(name: ":path") == "/p" && data.endStream)
      try server.channel.writeOutbound(HTTP2Frame(streamID: id, payload: .headers(.init(headers: [":status": "200", "content-type": "application/grpc"]))))
      try server.channel.writeOutbound(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 1, UInt8(stream)]))))))
      try server.channel.writeOutbound(HTTP2Frame(streamID: id, payload: .headers(.init(headers: ["grpc-status": "0", "grpc-message": "ok ✓"], endStream: true))))
      try shuttle()
      var answer: [HTTP2Frame.FramePayload] = []
      while let frame = try client.readInbound(as: HTTP2Frame.self) {
        if frame.streamID == id { answer.append(frame.payload) }
      }
      guard answer.count == 3, case .headers(let first) = answer[0], case .data(let body) = answer[1], case .headers(let trailers) = answer[2] else {
        Issue.record("stream \(stream): the client read \(answer)")
        return
      }
      #expect(first.headers.first(name: ":status") == "200")
      #expect(body.data == .byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 1, UInt8(stream)])))
      #expect(trailers.endStream && trailers.headers.first(name: "grpc-message") == "ok ✓")
    }
    #expect(server.recorder.closed.count == 20)
    #expect(server.recorder.errors.isEmpty)
    // The client's keepalive PING is answered.
    try client.writeOutbound(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 42), ack: false)))
    try shuttle()
    var pong = false
    while let frame = try client.readInbound(as: HTTP2Frame.self) {
      if case .ping(let data, ack: true) = frame.payload, data.integer == 42 { pong = true }
    }
    #expect(pong)
  }
}

/// A connection error the client commits, for the table of them.
struct Violation: CustomTestStringConvertible, Sendable {
  let name: String
  let bytes: [UInt8]
  let code: UInt32

  init(_ name: String, _ bytes: [UInt8], code: UInt32) {
    self.name = name
    self.bytes = bytes
    self.code = code
  }

  var testDescription: String { name }
}

extension HTTP2Frame.FramePayload {
  var isPing: Bool {
    if case .ping = self { return true }
    return false
  }
}

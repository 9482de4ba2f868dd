import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing
import WarrenPrimitives

@testable import WarrenHTTP2

/// What a client can send, at random: frames of every type (and unknown ones) with random flags,
/// streams, lengths and payloads, header blocks that are half valid, and raw garbage, in seeded
/// sequences. The server must never crash, and a connection it closes must end with GOAWAY.
@Suite("HTTP/2 server connection under random input")
struct HTTP2RobustnessTests {
  private static func randomFrame(_ random: inout SplitMix64, validBlock: [UInt8]) -> [UInt8] {
    let type = UInt8.random(in: 0...11, using: &random)
    let flags = [0, 1, 4, 5, 8, 0x20, 0x2D, 0xFF][Int.random(in: 0..<8, using: &random)] as UInt8
    let stream = [0, 1, 2, 3, 5, 7, 101, 0x7FFF_FFFF][Int.random(in: 0..<8, using: &random)] as UInt32
    let payload: [UInt8]
    switch Int.random(in: 0..<5, using: &random) {
    case 0: payload = []
    case 1: payload = validBlock
    case 2: payload = ServerConnection.u32(UInt32.random(in: 0...UInt32.max, using: &random))
    case 3: payload = (0..<8).map { _ in UInt8.random(in: 0...255, using: &random) }
    default: payload = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
    }
    return ServerConnection.frame(type, flags: flags, stream: stream, payload)
  }

  @Test("2,000 seeded sequences of random frames: no crash; every close is announced with GOAWAY")
  func randomFrames() throws {
    let validBlock = try ServerConnection.block(ServerConnection.request)
    var closed = 0
    for seed in 0..<2_000 as Range<UInt64> {
      var random = SplitMix64(seed: seed)
      let connection = try ServerConnection(.init(maxConcurrentStreams: 3, resetBurst: 5, resetsPerSecond: 1))
      var written = try connection.handshake()
      for _ in 0..<Int.random(in: 1...12, using: &random) {
        var bytes = Self.randomFrame(&random, validBlock: validBlock)
        if Int.random(in: 0..<20, using: &random) == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
        try connection.send(bytes)
        // The next handler answers what it is given, as SignalingConnection would.
        for frame in try connection.received() where frame.streamID != .rootStream {
          if case .headers = frame.payload {
            connection.channel.write(HTTP2Frame(streamID: frame.streamID, payload: .headers(.init(headers: [":status": "200"]))), promise: nil)
            connection.channel.write(
              HTTP2Frame(streamID: frame.streamID, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 0]))))), promise: nil)
            connection.channel.write(
              HTTP2Frame(streamID: frame.streamID, payload: .headers(.init(headers: ["grpc-status": "0"], endStream: true))), promise: nil)
            connection.channel.flush()
          }
        }
        written += try connection.written()
        if !connection.channel.isActive { break }
      }
      if !connection.channel.isActive {
        closed += 1
        #expect(written.last?.goAway != nil, "seed \(seed): closed without GOAWAY")
      }
    }
    // Most random sequences break a rule; some must not (the test would not be looking at much).
    #expect(closed > 500 && closed < 2_000, "\(closed) of 2,000 closed")
  }

  @Test("random bytes after the preface, or instead of it, end in GOAWAY or wait for more — never a crash")
  func garbage() throws {
    for seed in 0..<500 as Range<UInt64> {
      var random = SplitMix64(seed: seed)
      let opened = seed % 2 == 0
      let connection = try ServerConnection(opened: opened)
      _ = try connection.handshake()
      let bytes = (0..<Int.random(in: 1...2_000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
      try connection.send(bytes)
      let written = try connection.written()
      if !connection.channel.isActive { #expect(written.last?.goAway != nil, "seed \(seed)") }
    }
  }
}

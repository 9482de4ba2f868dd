import NIOCore
import NIOEmbedded
import NIOHTTP2
import Testing

@testable import WarrenSignalServer

/// The frame-level server's keepalive, in virtual time (an embedded channel's event loop, with its
/// own ticker).
@Suite("Connection keepalive (frame-level server)")
struct ConnectionKeepaliveTests {
  /// A connected channel with only the keepalive in it.
  func connection() throws -> EmbeddedChannel {
    let loop = EmbeddedEventLoop()
    let ticker = KeepaliveTicker(eventLoop: loop, interval: .seconds(60), timeout: .seconds(20))
    let channel = EmbeddedChannel(handler: ConnectionKeepalive(ticker: ticker), loop: loop)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    return channel
  }

  func pingsSent(_ channel: EmbeddedChannel) throws -> [HTTP2PingData] {
    var pings: [HTTP2PingData] = []
    while let frame = try channel.readOutbound(as: HTTP2Frame.self) {
      if case .ping(let data, ack: false) = frame.payload, frame.streamID == .rootStream { pings.append(data) }
    }
    return pings
  }

  func read(_ channel: EmbeddedChannel, _ payload: HTTP2Frame.FramePayload) throws {
    try channel.writeInbound(HTTP2Frame(streamID: .rootStream, payload: payload))
    _ = try channel.readInbound(as: HTTP2Frame.self)
  }

  @Test("a connection that reads nothing for an interval is pinged; no answer in the timeout closes it")
  func silentClientIsClosed() throws {
    let channel = try connection()
    channel.embeddedEventLoop.advanceTime(by: .seconds(59))
    #expect(try pingsSent(channel).isEmpty)
    channel.embeddedEventLoop.advanceTime(by: .seconds(1))
    #expect(try pingsSent(channel).count == 1)
    // An answer to another ping (the client's own, or a guess) is not the answer.
    try read(channel, .ping(HTTP2PingData(withInteger: 7), ack: true))
    channel.embeddedEventLoop.advanceTime(by: .seconds(19))
    #expect(channel.isActive)
    channel.embeddedEventLoop.advanceTime(by: .seconds(1))
    #expect(!channel.isActive)
  }

  @Test("the ping's answer keeps the connection; one that reads in every interval is never pinged")
  func answeringClientStays() throws {
    let channel = try connection()
    channel.embeddedEventLoop.advanceTime(by: .seconds(60))
    let ping = try #require(try pingsSent(channel).first)
    try read(channel, .ping(ping, ack: true))
    channel.embeddedEventLoop.advanceTime(by: .seconds(30))
    #expect(channel.isActive)
    for _ in 0..<5 {
      try read(channel, .windowUpdate(windowSizeIncrement: 1))
      channel.embeddedEventLoop.advanceTime(by: .seconds(60))
    }
    #expect(try pingsSent(channel).isEmpty)
    #expect(channel.isActive)
    _ = try? channel.finish()
  }
}

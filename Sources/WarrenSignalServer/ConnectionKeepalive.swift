internal import NIOCore
internal import NIOHTTP2

/// Finds connections whose client vanished (a NAT that forgot the mapping, a host that lost
/// power): every `interval` it looks whether the connection read anything since the last look;
/// if not it sends a PING (RFC 9113 §6.7), and a connection that does not answer within `timeout`
/// is closed, which ends its subscriptions.
///
/// One repeated timer per connection, never touched by reads: NIOHTTP2's connection manager
/// cancels and schedules its keepalive timer on every read, and cancelling a timer scans the
/// event loop's whole queue of them — 4 % of the server's CPU with 3,000 connections.
final class ConnectionKeepalive: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame
  typealias InboundOut = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  private let interval: TimeAmount
  private let timeout: TimeAmount
  private let pingData = HTTP2PingData(withInteger: .random(in: .min ... .max))
  private var readSinceLastLook = false
  private var ticker: RepeatedTask?
  private var unanswered: Scheduled<Void>?

  init(interval: TimeAmount, timeout: TimeAmount) {
    self.interval = interval
    self.timeout = timeout
  }

  func channelActive(context: ChannelHandlerContext) {
    let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
      let (keepalive, context) = bound.value
      keepalive.look(context)
    }
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    stop()
    context.fireChannelInactive()
  }

  func handlerRemoved(context: ChannelHandlerContext) { stop() }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    readSinceLastLook = true
    if case .ping(let data, ack: true) = unwrapInboundIn(data).payload, data == pingData {
      unanswered?.cancel()
      unanswered = nil
    }
    context.fireChannelRead(data)
  }

  private func look(_ context: ChannelHandlerContext) {
    defer { readSinceLastLook = false }
    guard !readSinceLastLook, unanswered == nil else { return }
    context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(pingData, ack: false))), promise: nil)
    let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
    unanswered = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
  }

  private func stop() {
    ticker?.cancel()
    ticker = nil
    unanswered?.cancel()
    unanswered = nil
  }
}

internal import NIOCore
internal import NIOHTTP2

/// Finds connections whose client vanished (a NAT that forgot the mapping, a host that lost
/// power): at every tick of its event loop's ``KeepaliveTicker`` it looks whether the connection
/// read anything since the last look; if not it sends a PING (RFC 9113 §6.7), and a connection
/// that does not answer within the ticker's timeout is closed, which ends its subscriptions.
///
/// Reads only set a flag: NIOHTTP2's connection manager cancels and schedules its keepalive timer
/// on every read, and cancelling a timer scans the event loop's whole queue of them — 4 % of the
/// server's CPU with 3,000 connections.
final class ConnectionKeepalive: ChannelInboundHandler {
  typealias InboundIn = HTTP2Frame
  typealias InboundOut = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  private let ticker: KeepaliveTicker
  private let pingData = HTTP2PingData(withInteger: .random(in: .min ... .max))
  private var context: ChannelHandlerContext?
  private var readSinceLastLook = false
  private var unanswered: Scheduled<Void>?

  init(ticker: KeepaliveTicker) { self.ticker = ticker }

  func handlerAdded(context: ChannelHandlerContext) { self.context = context }

  func channelActive(context: ChannelHandlerContext) {
    ticker.add(self)
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    stop()
    context.fireChannelInactive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    stop()
    self.context = nil
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    readSinceLastLook = true
    if case .ping(let data, ack: true) = unwrapInboundIn(data).payload, data == pingData {
      unanswered?.cancel()
      unanswered = nil
    }
    context.fireChannelRead(data)
  }

  /// The ticker's look: a PING if nothing was read since the last one.
  func look() {
    defer { readSinceLastLook = false }
    guard !readSinceLastLook, unanswered == nil, let context else { return }
    context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(pingData, ack: false))), promise: nil)
    let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
    unanswered = context.eventLoop.scheduleTask(in: ticker.timeout) { bound.value.close(promise: nil) }
  }

  private func stop() {
    ticker.remove(self)
    unanswered?.cancel()
    unanswered = nil
  }
}

/// One event loop's keepalive clock: every `interval` each connection on the loop looks
/// (``ConnectionKeepalive/look()``). One timer per loop, not one per connection (1.3 KiB each with
/// NIO's repeated tasks). Lives on its event loop.
final class KeepaliveTicker {
  let interval: TimeAmount
  let timeout: TimeAmount
  private var members: [ObjectIdentifier: ConnectionKeepalive] = [:]
  private var task: RepeatedTask?

  init(eventLoop: any EventLoop, interval: TimeAmount, timeout: TimeAmount) {
    self.interval = interval
    self.timeout = timeout
    let bound = NIOLoopBound(self, eventLoop: eventLoop)
    task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in bound.value.tick() }
  }

  func add(_ connection: ConnectionKeepalive) { members[ObjectIdentifier(connection)] = connection }

  func remove(_ connection: ConnectionKeepalive) { members[ObjectIdentifier(connection)] = nil }

  /// Stops the clock and forgets every connection.
  func stop() {
    task?.cancel()
    task = nil
    members = [:]
  }

  private func tick() {
    for connection in Array(members.values) { connection.look() }
  }
}

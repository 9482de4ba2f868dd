internal import Logging
internal import NIOCore
internal import WarrenPrimitives

/// Hands each received datagram to the driver with its addresses. Lives on its channel's event
/// loop; remembers the conversions of the few addresses it sees.
final class DatagramHandler: ChannelInboundHandler {
  typealias InboundIn = AddressedEnvelope<ByteBuffer>

  private let driver: ICEDriver
  private var local: TransportAddress?
  private var sources: [SocketAddress: TransportAddress] = [:]

  init(driver: ICEDriver) { self.driver = driver }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let envelope = unwrapInboundIn(data)
    if local == nil { local = context.channel.localAddress.flatMap(TransportAddress.init) }
    guard let local, let remote = source(envelope.remoteAddress) else { return }
    driver.received(envelope.data, from: remote, to: local)
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    driver.readComplete()
    context.fireChannelReadComplete()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    driver.logger.debug("host socket error", metadata: ["local": "\(local.map { "\($0)" } ?? "-")", "error": "\(error)"])
    context.fireErrorCaught(error)
  }

  func channelInactive(context: ChannelHandlerContext) {
    driver.socketClosed(context.channel)
    context.fireChannelInactive()
  }

  private func source(_ address: SocketAddress) -> TransportAddress? {
    if let known = sources[address] { return known }
    guard let converted = TransportAddress(address) else { return nil }
    if sources.count >= 256 { sources.removeAll(keepingCapacity: true) }  // a bound, not an LRU
    sources[address] = converted
    return converted
  }
}

extension TransportAddress {
  init?(_ address: SocketAddress) {
    guard let text = address.ipAddress, let port = address.port, let ip = TransportAddress.IP(text) else { return nil }
    self.init(ip: ip, port: UInt16(port))
  }
}


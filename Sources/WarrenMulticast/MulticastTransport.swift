public import Logging
internal import NIOCore
internal import NIOPosix
internal import SwiftProtobuf
internal import Synchronization
public import WarrenCrypto
public import WarrenSignaling
public import WarrenWire
internal import WarrenPrimitives

/// The `multicast://GROUP:PORT?interface=NAME&loopback=true` backend (wire.md): one serialized
/// envelope per datagram to the group, on a LAN. Receivers keep what is addressed to one of their
/// subscriptions; anything undecodable is counted and logged at debug level, never fatal.
public final class MulticastTransport: EnvelopeTransport {
  /// The URL's settings.
  public struct Settings: Sendable, Equatable {
    public var group: String
    public var port: Int
    /// The interface to join and send on; the routing table's choice when `nil`.
    public var interface: String?
    /// Whether sockets of this host see what it sends (IP_MULTICAST_LOOP).
    public var loopback = false
    /// The largest envelope published (cunicu: 4096 bytes).
    public var maxSize = 4096
    /// IP_MULTICAST_TTL / hop limit: 1 keeps datagrams on the LAN.
    public var ttl = 1

    public init(_ url: BackendURL) throws(SignalingError) {
      try url.checkParameters(["interface", "loopback", "max_size", "ttl"])
      guard let port = url.port, (1...65535).contains(port) else {
        throw SignalingError(.invalidURL, "\(url): a multicast URL needs a port (multicast://239.0.0.1:9999)")
      }
      group = url.host
      self.port = port
      interface = url.query["interface"].flatMap { $0.isEmpty ? nil : $0 }
      loopback = try url.flag("loopback")
      if let text = url.query["max_size"] {
        guard let value = Int(text), (64...65_507).contains(value) else {
          throw SignalingError(.invalidURL, "\(url): max_size must be 64-65507 bytes, got '\(text)'")
        }
        maxSize = value
      }
      if let text = url.query["ttl"] {
        guard let value = Int(text), (0...255).contains(value) else {
          throw SignalingError(.invalidURL, "\(url): ttl must be 0-255, got '\(text)'")
        }
        ttl = value
      }
    }
  }

  public let settings: Settings
  private let sink: any EnvelopeSink
  private let logger: Logger
  private let group: SocketAddress
  private let subscriptions = Locked<Set<Key>>([])
  /// Opens the socket once; its value is the socket.
  private let opening = Locked<Task<any Channel, any Error>?>(nil)
  private let undecodable = Atomic<Int>(0)

  /// Datagrams received that were not envelopes.
  public var undecodableCount: Int { undecodable.load(ordering: .relaxed) }

  public var type: BackendType { .mcast }

  public init(url: BackendURL, sink: any EnvelopeSink, logger: Logger) throws(SignalingError) {
    settings = try Settings(url)
    do {
      group = try SocketAddress(ipAddress: settings.group, port: settings.port)
    } catch {
      throw SignalingError(.invalidURL, "\(url): '\(settings.group)' is not an IP address")
    }
    guard group.isMulticast else { throw SignalingError(.invalidURL, "\(url): \(settings.group) is not a multicast group") }
    self.sink = sink
    var logger = logger
    logger[metadataKey: "group"] = "\(settings.group):\(settings.port)"
    self.logger = logger
  }

  public func subscribe(_ ours: PrivateKey) async throws {
    _ = try await open()
    subscriptions.withLock { _ = $0.insert(ours.publicKey) }
  }

  public func unsubscribe(_ key: Key) {
    subscriptions.withLock { _ = $0.remove(key) }
  }

  public func publish(_ envelope: Cunicu_Signaling_Envelope) async throws {
    let bytes: [UInt8] = try envelope.serializedBytes()
    guard bytes.count <= settings.maxSize else {
      throw SignalingError(
        .publishFailed, "an envelope of \(bytes.count) bytes is over the multicast backend's maximum of \(settings.maxSize)")
    }
    let channel = try await open()
    try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: group, data: ByteBuffer(bytes: bytes)))
  }

  public func close() async {
    let open = opening.withLock { task in defer { task = nil }; return task }
    if let channel = try? await open?.value { try? await channel.close() }
  }

  /// The socket: bound to the group's port, joined to the group, sending on the interface.
  private func open() async throws -> any Channel {
    let task = opening.withLock { task in
      if let task { return task }
      let created = Task { try await self.bind() }
      task = created
      return created
    }
    return try await task.value
  }

  private func bind() async throws -> any Channel {
    let ipv4 = group.protocol == .inet
    let device = try settings.interface.map { name in
      guard let device = try System.enumerateDevices().first(where: { $0.name == name && $0.address?.protocol == group.protocol }) else {
        throw SignalingError(.invalidURL, "no interface '\(name)' with an \(ipv4 ? "IPv4" : "IPv6") address for multicast")
      }
      return device
    }
    let transport = self
    let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .channelOption(.socketOption(.so_reuseaddr), value: 1)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(MulticastReceiver(transport: transport))
        }
      }
      .bind(host: ipv4 ? "0.0.0.0" : "::", port: settings.port).get()
    guard let options = channel as? any SocketOptionProvider else {
      throw SignalingError(.subscribeFailed, "the socket cannot join multicast groups")
    }
    // Joined with setsockopt directly: NIO's joinGroup refuses interfaces without the MULTICAST
    // flag, such as loopback, which the kernel serves fine.
    guard let groupBytes = group.ipAddress.flatMap(addressBytes) else {
      throw SignalingError(.subscribeFailed, "cannot read the group address \(settings.group)")
    }
    if ipv4 {
      try await options.setIPMulticastLoop(settings.loopback ? 1 : 0).get()
      try await options.setIPMulticastTTL(CUnsignedChar(settings.ttl)).get()
      let interface = device?.address?.ipAddress.flatMap(addressBytes) ?? [0, 0, 0, 0]
      if device != nil {
        // Send on the chosen interface too, not where the routing table would.
        try await options.unsafeSetSocketOption(level: .ip, name: .ip_multicast_if, value: IPv4Membership.Address(interface)).get()
      }
      try await options.unsafeSetSocketOption(
        level: .ip, name: .ip_add_membership, value: IPv4Membership(group: .init(groupBytes), interface: .init(interface))
      ).get()
    } else {
      try await options.setIPv6MulticastLoop(settings.loopback ? 1 : 0).get()
      try await options.setIPv6MulticastHops(CInt(settings.ttl)).get()
      let index = UInt32(device?.interfaceIndex ?? 0)
      if device != nil { try await options.setIPv6MulticastIF(CUnsignedInt(index)).get() }
      try await options.unsafeSetSocketOption(level: .ipv6, name: .ipv6_join_group, value: IPv6Membership(groupBytes, index: index)).get()
    }
    logger.debug("joined the multicast group", metadata: ["interface": "\(settings.interface ?? "default")"])
    return channel
  }

  fileprivate func received(_ bytes: ByteBufferView) {
    guard let envelope = try? Cunicu_Signaling_Envelope(serializedBytes: Array(bytes)) else {
      undecodable.add(1, ordering: .relaxed)
      logger.debug("dropped a datagram that is not an envelope", metadata: ["bytes": "\(bytes.count)"])
      return
    }
    guard let recipient = try? Key(bytes: envelope.recipient), subscriptions.withLock({ $0.contains(recipient) }) else { return }
    sink.deliver(envelope)
  }
}

private final class MulticastReceiver: ChannelInboundHandler, Sendable {
  typealias InboundIn = AddressedEnvelope<ByteBuffer>
  private let transport: MulticastTransport

  init(transport: MulticastTransport) { self.transport = transport }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    transport.received(unwrapInboundIn(data).data.readableBytesView)
  }
}

/// An address's bytes in network order (the STUN codec's parser).
private func addressBytes(_ text: String) -> [UInt8]? { TransportAddress.IP(text)?.bytes }

extension BackendFactory {
  /// Makes this factory build `multicast://` backends.
  public mutating func registerMulticast() {
    register(scheme: "multicast") { url, sink, logger in
      try MulticastTransport(url: url, sink: sink, logger: logger)
    }
  }
}

/// `struct ip_mreq` (RFC 3678): the group and the interface's address, both in network order.
private struct IPv4Membership: Sendable {
  struct Address: Sendable {
    var bytes: (UInt8, UInt8, UInt8, UInt8)
    init(_ b: [UInt8]) { bytes = (b[0], b[1], b[2], b[3]) }
  }
  var group: Address
  var interface: Address
}

/// `struct ipv6_mreq`: the group's 16 bytes and the interface index.
private struct IPv6Membership: Sendable {
  var group: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
  var index: UInt32

  init(_ b: [UInt8], index: UInt32) {
    group = (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
    self.index = index
  }
}


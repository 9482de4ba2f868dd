internal import Logging
internal import NIOCore
internal import NIOPosix
internal import NIOSSL
public import WarrenICE
internal import WarrenSTUN
internal import WarrenTURN
internal import WarrenICEEndpoint
public import WarrenPrimitives

/// How the driver talks to a TURN server (RFC 8656 §3.1); the relayed transport is UDP in all
/// three (RFC 6062 TCP allocations are out of scope).
public enum RelayTransport: Sendable, Hashable, CustomStringConvertible {
  /// From a host candidate's socket.
  case udp
  /// Over a TCP connection of its own.
  case tcp
  /// Over TLS; `serverName` for SNI and the certificate check (the URL's host when it is a name),
  /// `verify` false only for testing against a self-signed server.
  case tls(serverName: String?, verify: Bool)

  public var description: String {
    switch self {
    case .udp: "udp"
    case .tcp: "tcp"
    case .tls: "tls"
    }
  }
}

/// Relay candidates (RFC 8445 §5.1.1.2, RFC 8656): a TURN allocation made from a host socket, or
/// over TCP or TLS. The agent's datagrams from the relayed address go through the TURN client to
/// the server; what the server relays back is handed to the agent as if it had arrived at the
/// relayed address.
extension ICEDriver {
  /// What the TURN clients reported under the lock, to log and deliver after it.
  struct RelayOutput {
    var data: [[UInt8]] = []
    var notes: [(level: Logger.Level, message: String, server: TransportAddress)] = []
  }

  /// Allocates a relayed address on the TURN server at `server` (long-term credentials), from
  /// the first host socket of the same family or over a TCP/TLS connection, and adds it as a relay
  /// candidate. `nil` when the server refuses, cannot be reached or does not answer within
  /// `timeout` (the reason is logged).
  public func gatherRelay(
    server: TransportAddress, username: String, password: String, transport: RelayTransport = .udp,
    timeout: Duration = .seconds(5)
  ) async -> Candidate? {
    let link: ICEEndpoint.RelayLink
    let stream: (any Channel)?
    switch transport {
    case .udp:
      let base = state.withLock { state in
        state.channels.keys.filter { $0.ip.isIPv4 == server.ip.isIPv4 }.min { $0.port < $1.port }
      }
      guard let base else {
        logger.warning("no host socket of the TURN server's address family; no relay candidate", metadata: ["turn": "\(server)"])
        return nil
      }
      link = .datagram(base: base)
      stream = nil
    case .tcp, .tls:
      do {
        stream = try await connectStream(to: server, transport: transport, timeout: timeout)
        link = .stream
      } catch {
        logger.warning("cannot reach the TURN server over \(transport); no relay candidate", metadata: ["turn": "\(server)", "error": "\(error)"])
        return nil
      }
    }
    var clientConfiguration = TURNClient.Configuration(username: username, password: password)
    clientConfiguration.reliable = transport != .udp
    let configuration = clientConfiguration
    // The allocation's answer, or nil once `timeout` passed (the timer expires the waiter).
    let candidate: Candidate? = await answerOrTimeout(within: timeout, on: clock, expire: { self.pendingRelays.answer(server, with: nil) }) {
      await self.pendingRelays.wait(for: server, busy: nil) {
        var started = false
        self.update { state, now in
          guard !state.endpoint.hasAllocation(on: server) else { return }
          if let stream { state.relayStreams[server] = stream }
          state.endpoint.allocate(
            on: server, configuration: configuration, link: link, seed: UInt64.random(in: 0...UInt64.max), now: now)
          started = true
        }
        if !started { self.pendingRelays.answer(server, with: nil) }
      }
    }
    if candidate == nil {
      logger.warning("no relay candidate from this TURN server (refused, or no answer in \(timeout))", metadata: ["turn": "\(server)"])
      let leftover = state.withLock { $0.relayStreams.removeValue(forKey: server) } ?? stream
      update { state, now in state.endpoint.release(server, now: now) }
      leftover?.close(promise: nil)
    }
    return candidate
  }

  /// A TCP or TLS connection to `server` that hands each STUN message or ChannelData it carries
  /// to the driver.
  private func connectStream(to server: TransportAddress, transport: RelayTransport, timeout: Duration) async throws -> any Channel {
    let tls: (context: NIOSSLContext, serverName: String?)?
    if case .tls(let name, let verify) = transport {
      var configuration = TLSConfiguration.makeClientConfiguration()
      if !verify { configuration.certificateVerification = .none }
      tls = (try NIOSSLContext(configuration: configuration), name)
    } else {
      tls = nil
    }
    let seconds = timeout.components.seconds
    return try await ClientBootstrap(group: eventLoop)
      .connectTimeout(.seconds(max(1, seconds)))
      .channelInitializer { [self] channel in
        channel.eventLoop.makeCompletedFuture {
          if let tls {
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
          }
          try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TURNStreamFramer()))
          try channel.pipeline.syncOperations.addHandler(RelayStreamHandler(driver: self, server: server))
        }
      }
      .connect(host: "\(server.ip)", port: Int(server.port)).get()
  }

  /// One message from a TURN server's TCP or TLS connection.
  fileprivate func receivedFromRelayStream(_ bytes: [UInt8], server: TransportAddress) {
    update { state, now in state.endpoint.receive(streamBytes: bytes, from: server, now: now) }
  }

  /// The connection to a TURN server closed: its allocation is gone.
  fileprivate func relayStreamClosed(server: TransportAddress) {
    update { state, now in
      state.relayStreams[server] = nil
      state.endpoint.streamClosed(server, now: now)
    }
  }

  /// Logs what the TURN clients reported and hands relayed application data on, in order.
  func report(_ output: RelayOutput) {
    for note in output.notes { logger.log(level: note.level, "\(note.message)", metadata: ["turn": "\(note.server)"]) }
    if let onData, !output.data.isEmpty {
      for bytes in output.data { onData(ByteBuffer(bytes: bytes)) }
      onDataBatchEnd?()
    }
  }
}

/// Splits a TURN server's TCP or TLS byte stream into STUN messages and ChannelData messages
/// (RFC 8656 §12.5: over streams ChannelData is padded to a multiple of 4).
struct TURNStreamFramer: ByteToMessageDecoder {
  typealias InboundOut = [UInt8]

  mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
    guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
      let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self)
    else { return .needMoreData }
    let total: Int
    switch first >> 6 {
    case 0: total = 20 + Int(length)  // STUN: header and attributes
    case 1: total = 4 + (Int(length) + 3) & ~3  // ChannelData, padded
    default: throw TURNError(.malformed, "the TURN server's stream is out of sync (first byte 0x\(String(first, radix: 16)))")
    }
    guard let bytes = buffer.readBytes(length: total) else { return .needMoreData }
    context.fireChannelRead(wrapInboundOut(bytes))
    return .continue
  }
}

/// Hands each framed message of a TURN server's connection to the driver.
private final class RelayStreamHandler: ChannelInboundHandler {
  typealias InboundIn = [UInt8]
  private let driver: ICEDriver
  private let server: TransportAddress

  init(driver: ICEDriver, server: TransportAddress) {
    self.driver = driver
    self.server = server
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    driver.receivedFromRelayStream(unwrapInboundIn(data), server: server)
  }

  func channelInactive(context: ChannelHandlerContext) {
    driver.relayStreamClosed(server: server)
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    driver.logger.warning("TURN connection failed", metadata: ["turn": "\(server)", "error": "\(error)"])
    context.close(promise: nil)
  }
}

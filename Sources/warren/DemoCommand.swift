import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import WarrenCrypto
import WarrenDaemon
import WarrenGRPC
import WarrenICENIO
import WarrenSignalServer
import WarrenSession
import WarrenSignaling
internal import WarrenPrimitives

/// `warren demo`: the whole system in one process, no configuration, no root. An embedded
/// signaling server on loopback and two peers with fresh keys run the full session (credentials,
/// trickled candidates, checks), then datagrams go through the UDP proxies to an echo application
/// and back.
struct Demo: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run two peers and a signaling server in this process and push traffic between them.")

  @Option(help: "Datagrams to send through the proxies once connected.")
  var datagrams = 3000

  @Option(help: "Log level for the components' own logs: trace, debug, info, notice, warning, error or critical.")
  var logLevel = "warning"

  func validate() throws {
    guard datagrams > 0 else { throw ValidationError("--datagrams must be at least 1") }
    try LogSetup.validate(logLevel)
  }

  func run() async throws {
    let logger = LogSetup.bootstrap(level: logLevel, label: "warren.demo")
    let clock = DemoClock()
    let loopback = TransportAddress.IP("127.0.0.1")!

    var serverConfiguration = SignalServerConfiguration()
    serverConfiguration.host = "127.0.0.1"
    serverConfiguration.port = 0
    serverConfiguration.buildInfo = WarrenVersion.current.buildInfo
    let server = try SignalServer(configuration: serverConfiguration, logger: logger)
    // The server runs beside the demo and stops when it is done.
    let outcome: Result<Void, any Error> = try await withThrowingTaskGroup(of: Void.self) { services in
      services.addTask { try await server.run() }
      defer { services.cancelAll() }
      let port = try await server.listeningPort
      let url = "grpc://127.0.0.1:\(port)?insecure=true"
      clock.print("signaling server listening on \(url)")

      let alice = PrivateKey.generate()
      let bob = PrivateKey.generate()
      clock.print("alice \(alice.publicKey) (\(alice.publicKey < bob.publicKey ? "controlling" : "controlled"))")
      clock.print("bob   \(bob.publicKey) (\(bob.publicKey < alice.publicKey ? "controlling" : "controlled"))")

      // The applications: one that sends and measures behind alice, one that echoes behind bob.
      let probe = try await DemoSocket(logger: logger)
      let echo = try await DemoSocket(logger: logger)
      echo.onReceive = { bytes, from in echo.send(bytes, to: from) }

      var factory = BackendFactory(logger: logger)
      factory.registerGRPC()
      let backends = try [factory.makeBackend(url: url), factory.makeBackend(url: url)]
      let links = [
        PeerLink(
          options: .init(
            name: "bob", keys: KeyPair(ours: alice, theirs: bob.publicKey), gatherer: Gatherer(hostAddresses: [loopback]),
            listen: TransportAddress(ip: loopback, port: 0), forward: probe.address),
          backend: backends[0], logger: logger),
        PeerLink(
          options: .init(
            name: "alice", keys: KeyPair(ours: bob, theirs: alice.publicKey), gatherer: Gatherer(hostAddresses: [loopback]),
            listen: TransportAddress(ip: loopback, port: 0), forward: echo.address),
          backend: backends[1], logger: logger),
      ]
      let owners = ["alice", "bob"]

      let outcome: Result<Void, any Error> = await withTaskGroup(of: Void.self) { group in
        for (index, link) in links.enumerated() {
          group.addTask {
            do { try await link.run() } catch is CancellationError {} catch {
              clock.print("\(owners[index]): the peer link stopped: \(error)")
            }
          }
          group.addTask {
            for await transition in link.transitions {
              clock.print("\(owners[index]) -> \(link.options.name): \(transition.from) -> \(transition.to) (\(transition.reason))", at: transition.at)
            }
          }
        }
        defer { group.cancelAll() }
        do {
          try await Demo.waitUntilConnected(links, within: .seconds(20))
          for (index, link) in links.enumerated() {
            if let pair = link.status.selectedPair { clock.print("\(owners[index]) selected \(pair)") }
          }
          guard let listen = links[0].listenAddress else { throw ValidationError("alice's proxy is not listening") }
          try await Demo.pushTraffic(count: datagrams, from: probe, to: listen, clock: clock)
          return .success(())
        } catch {
          return .failure(error)
        }
      }
      for link in links { await link.close() }
      for backend in backends { await backend.close() }
      await probe.close()
      await echo.close()
      return outcome
    }
    try outcome.get()
    clock.print("done")
  }

  static func waitUntilConnected(_ links: [PeerLink], within limit: Duration) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
      if links.allSatisfy({ [.connected, .completed].contains($0.status.state) && $0.status.selectedPair != nil }) { return }
      try await Task.sleep(for: .milliseconds(10))
    }
    throw ValidationError("the peers did not connect within \(limit)")
  }

  /// Sends `count` WireGuard-like datagrams (type 4, 200 bytes) through alice's proxy; bob's
  /// application echoes them; prints round-trip percentiles, throughput and loss.
  static func pushTraffic(count: Int, from probe: DemoSocket, to listen: TransportAddress, clock: DemoClock) async throws {
    let rtts = Locked<[Double]>([])
    probe.onReceive = { bytes, _ in
      guard bytes.count >= 16 else { return }
      let sent = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
      let rtt = Double(DemoClock.nanoseconds() &- sent) / 1e6
      rtts.withLock { $0.append(rtt) }
    }
    let destination = try SocketAddress(ipAddress: "\(listen.ip)", port: Int(listen.port))
    let started = DemoClock.nanoseconds()
    // At most `window` datagrams in flight, like a transport that does not overrun its path;
    // one that is lost frees its slot after a short wait.
    let window = 32
    for sequence in 0..<count {
      let waitUntil = ContinuousClock.now + .milliseconds(200)
      while sequence - rtts.withLock({ $0.count }) >= window, ContinuousClock.now < waitUntil {
        try await Task.sleep(for: .microseconds(200))
      }
      var datagram = [UInt8](repeating: 0, count: 200)
      datagram[0] = 4  // a WireGuard transport-data message type: must not be taken for STUN
      withUnsafeBytes(of: UInt32(sequence).littleEndian) { for i in 0..<4 { datagram[4 + i] = $0[i] } }
      withUnsafeBytes(of: DemoClock.nanoseconds()) { for i in 0..<8 { datagram[8 + i] = $0[i] } }
      probe.send(datagram, to: destination)
    }
    let deadline = ContinuousClock.now + .seconds(3)
    while rtts.withLock({ $0.count }) < count, ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(10))
    }
    let elapsed = Double(DemoClock.nanoseconds() - started) / 1e9
    let sorted = rtts.withLock { $0.sorted() }
    guard !sorted.isEmpty else { throw ValidationError("no datagram came back through the proxies") }
    func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    clock.print(String(
      format: "%d of %d datagrams echoed (%.1f %% loss); RTT p50 %.3f ms, p90 %.3f ms, p99 %.3f ms",
      sorted.count, count, 100 * Double(count - sorted.count) / Double(count), percentile(0.5), percentile(0.9), percentile(0.99)))
    clock.print(String(
      format: "throughput %.0f datagrams/s each way (%.2f Mbit/s of 200-byte datagrams)",
      Double(sorted.count) / elapsed, Double(sorted.count * 200 * 8) / elapsed / 1e6))
  }
}

/// Timestamps for the demo's output, relative to its start.
final class DemoClock: Sendable {
  let start = ContinuousClock.now

  func print(_ line: String, at instant: ContinuousClock.Instant = .now) {
    let (seconds, attoseconds) = (instant - start).components
    Swift.print(String(format: "[%7.3f s] ", Double(seconds) + Double(attoseconds) / 1e18) + line)
  }

  private static let epoch = ContinuousClock.now

  /// Monotonic nanoseconds, for timestamps carried inside datagrams.
  static func nanoseconds() -> UInt64 {
    let epoch = Self.epoch  // initialized (lazily) before `now` is read, so the difference is never negative
    let (seconds, attoseconds) = (ContinuousClock.now - epoch).components
    return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
  }
}

/// A UDP socket on 127.0.0.1 standing in for an application such as WireGuard.
final class DemoSocket: Sendable {
  private let channel: any Channel
  private let handler = Locked<(@Sendable ([UInt8], SocketAddress) -> Void)?>(nil)
  let address: TransportAddress

  init(logger: Logger) async throws {
    let box = HandlerBox()
    channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Receiver(box: box)) }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    address = TransportAddress(ip: TransportAddress.IP("127.0.0.1")!, port: UInt16(channel.localAddress?.port ?? 0))
    box.socket.withLock { $0 = self }
  }

  var onReceive: (@Sendable ([UInt8], SocketAddress) -> Void)? {
    get { handler.withLock { $0 } }
    set { handler.withLock { $0 = newValue } }
  }

  func send(_ bytes: [UInt8], to destination: SocketAddress) {
    channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: ByteBuffer(bytes: bytes)), promise: nil)
  }

  func close() async { try? await channel.close() }

  fileprivate func received(_ bytes: [UInt8], from source: SocketAddress) { onReceive?(bytes, source) }

  fileprivate final class HandlerBox: Sendable {
    let socket = Locked<DemoSocket?>(nil)
  }

  private final class Receiver: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let box: HandlerBox
    init(box: HandlerBox) { self.box = box }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      let envelope = unwrapInboundIn(data)
      box.socket.withLock { $0 }?.received(Array(envelope.data.readableBytesView), from: envelope.remoteAddress)
    }
  }
}

import Logging
import NIOCore
import Synchronization
import Testing
import WarrenDaemon
import WarrenICENIO
import WarrenPrimitives
import WarrenTestSupport

/// The application side of a peer's path, on loopback: what the application sends reaches the
/// peer's path byte for byte, what the peer sends reaches the application from the listen port
/// (WireGuard's endpoint for the peer), and everything is counted.
@Suite("UDP proxy (integration)", .timeLimit(.scaled(minutes: 1)))
struct UDPProxyTests {
  let loopback = TransportAddress.IP("127.0.0.1")!

  @Test("datagrams each way keep their bytes and are counted; without a path they are dropped and counted")
  func bothWays() async throws {
    let application = try UDPSocket(port: 0)
    defer { application.close() }
    let toPeer = AsyncStream.makeStream(of: [UInt8].self)
    let hasPath = Atomic(true)
    let proxy = try await UDPProxy(
      listen: TransportAddress(ip: loopback, port: 0), forward: TransportAddress(ip: loopback, port: application.port),
      logger: Logger(label: "proxy")
    ) { buffer in
      guard hasPath.load(ordering: .relaxed) else { return false }
      toPeer.continuation.yield(Array(buffer.readableBytesView))
      return true
    }
    #expect(proxy.listen.ip == loopback && proxy.listen.port != 0)

    // Application → peer, every byte value (and a WireGuard-sized datagram, to the largest read
    // whole) and an empty datagram.
    let datagram = (0..<DatagramSocketTuning.largestDatagram).map { UInt8(truncatingIfNeeded: $0) }
    application.send(datagram, to: proxy.listen.port)
    application.send([], to: proxy.listen.port)
    var sent = toPeer.stream.makeAsyncIterator()
    #expect(await sent.next() == datagram)
    #expect(await sent.next() == [])

    // No path: dropped, counted, nothing handed on.
    hasPath.store(false, ordering: .relaxed)
    application.send([9, 9, 9], to: proxy.listen.port)
    #expect(try await eventually { proxy.statistics.droppedNoPath == 1 })

    // Peer → application, from the listen port.
    proxy.deliver(ByteBuffer(bytes: [4, 0, 0, 0, 1, 2]))
    let received = try await offThePool { application.receive(timeout: .seconds(5)) }
    #expect(received?.bytes == [4, 0, 0, 0, 1, 2])
    #expect(received?.from == proxy.listen.port)

    #expect(
      proxy.statistics
        == UDPProxy.Statistics(packetsToPeer: 2, bytesToPeer: DatagramSocketTuning.largestDatagram, droppedNoPath: 1, packetsToApplication: 1, bytesToApplication: 6))
    await proxy.close()
  }

  @Test("a burst to the application leaves as GSO trains on loopback and arrives as the same datagrams, in order")
  func burstToApplication() async throws {
    let application = try UDPSocket(port: 0)
    defer { application.close() }
    let proxy = try await UDPProxy(
      listen: TransportAddress(ip: loopback, port: 0), forward: TransportAddress(ip: loopback, port: application.port),
      logger: Logger(label: "proxy")
    ) { _ in true }
    // WireGuard-sized datagrams, a shorter one that ends a train, then sizes that cannot share one.
    let sizes = [1452, 1452, 1452, 148, 1452, 32, 32, 1452, 1452, 0, 9216, 1452]
    let burst = sizes.enumerated().map { index, size in (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7 + index) } }
    for datagram in burst { proxy.deliver(ByteBuffer(bytes: datagram), flush: false) }
    proxy.flush()
    for expected in burst {
      let received = try await offThePool { application.receive(timeout: .seconds(5)) }
      #expect(received?.bytes == expected, "a datagram of \(expected.count) bytes")
    }
    #expect(proxy.statistics.packetsToApplication == sizes.count && proxy.statistics.bytesToApplication == sizes.reduce(0, +))
    await proxy.close()
  }

  @Test("a listen port in use is an error, not a crash")
  func portInUse() async throws {
    let taken = try UDPSocket(port: 0)
    defer { taken.close() }
    await #expect(throws: (any Error).self) {
      _ = try await UDPProxy(
        listen: TransportAddress(ip: loopback, port: taken.port), forward: TransportAddress(ip: loopback, port: 9),
        logger: Logger(label: "proxy")
      ) { _ in true }
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Testing
import WarrenICENIO
import WarrenPrimitives
import WarrenTestSupport

/// GSO sends on loopback: a train arrives as its datagrams, and what the kernel refuses is an
/// outcome, not a closed socket.
@Suite("UDP GSO sender (integration)", .timeLimit(.scaled(minutes: 1)))
struct GSOSenderTests {
  @Test("a train of WireGuard-sized datagrams and a shorter last one arrives as those datagrams, in order")
  func train() async throws {
    let receiver = try UDPSocket(port: 0)
    let sending = try UDPSocket(port: 0)
    defer { receiver.close(); sending.close() }
    let sender = try #require(GSOSender(duplicating: sending.descriptor))
    defer { sender.close() }
    let datagrams = [1452, 1452, 1452, 100].enumerated().map { index, size in (0..<size).map { UInt8(truncatingIfNeeded: $0 + index) } }
    var train = ByteBuffer()
    for datagram in datagrams { train.writeBytes(datagram) }
    let destination = TransportAddress(ip: .v4(0x7f00_0001), port: receiver.port)
    #expect(sender.send(train, segmentSize: 1452, to: destination) == .sent)
    for expected in datagrams {
      let received = try await offThePool { receiver.receive(timeout: .seconds(5)) }
      #expect(received?.bytes == expected)
      #expect(received?.from == sending.port)
    }
  }

  @Test("a train the kernel refuses (above the largest IP packet) is refused with its error; the socket still sends")
  func refused() async throws {
    let receiver = try UDPSocket(port: 0)
    let sending = try UDPSocket(port: 0)
    defer { receiver.close(); sending.close() }
    let sender = try #require(GSOSender(duplicating: sending.descriptor))
    let destination = TransportAddress(ip: .v4(0x7f00_0001), port: receiver.port)
    let refused = sender.send(ByteBuffer(repeating: 1, count: 80_000), segmentSize: 40_000, to: destination)
    #expect(refused == .refused(errno: EMSGSIZE))
    #expect(refused.description == "Message too long (errno \(EMSGSIZE))")
    #expect(sender.send(ByteBuffer(repeating: 2, count: 6), segmentSize: 3, to: destination) == .sent)
    #expect(try await offThePool { receiver.receive(timeout: .seconds(5)) }?.bytes == [2, 2, 2])
    #expect(try await offThePool { receiver.receive(timeout: .seconds(5)) }?.bytes == [2, 2, 2])
    sender.close()
    #expect(sender.send(ByteBuffer(repeating: 3, count: 6), segmentSize: 3, to: destination) == .refused(errno: EBADF))
  }
}

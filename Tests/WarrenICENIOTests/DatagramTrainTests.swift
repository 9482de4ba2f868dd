import NIOCore
import Testing
import WarrenICENIO

/// Which datagrams may ride one GSO train, and the bytes and segment size the kernel gets.
@Suite("GSO datagram trains")
struct DatagramTrainTests {
  func datagram(_ size: Int, _ fill: UInt8) -> ByteBuffer { ByteBuffer(repeating: fill, count: size) }
  let destination = try! SocketAddress(ipAddress: "127.0.0.1", port: 51820)
  func appended(_ train: inout DatagramTrain, _ datagram: ByteBuffer, header: UInt32? = nil) -> Bool {
    train.append(datagram, header: header)
  }

  @Test("equal datagrams and one shorter last one share a train; nothing follows the shorter one")
  func shorterEnds() {
    var train = DatagramTrain(datagram(1452, 1))
    #expect(appended(&train, datagram(1452, 2)))
    #expect(appended(&train, datagram(148, 3)))
    #expect(!appended(&train, datagram(148, 4)))
    #expect(!appended(&train, datagram(1452, 5)))
    #expect(train.count == 3 && train.segmentSize == 1452)
    #expect(Array(train.buffer.readableBytesView) == [UInt8](repeating: 1, count: 1452) + [UInt8](repeating: 2, count: 1452) + [UInt8](repeating: 3, count: 148))
    let envelope = train.envelope(to: destination)
    #expect(envelope.metadata?.segmentSize == 1452 && envelope.data.readableBytes == 3052 && envelope.remoteAddress == destination)
  }

  @Test("a longer or empty datagram does not join; a lone datagram is sent as itself, without a segment size")
  func refused() {
    var train = DatagramTrain(datagram(96, 7))
    #expect(!appended(&train, datagram(1452, 8)))
    #expect(!appended(&train, ByteBuffer()))
    #expect(train.count == 1)
    let envelope = train.envelope(to: destination)
    #expect(envelope.metadata == nil && Array(envelope.data.readableBytesView) == [UInt8](repeating: 7, count: 96))
  }

  @Test("a train stops at the kernel's 64 segments and at the largest IPv4 UDP payload")
  func limits() {
    var segments = DatagramTrain(datagram(100, 0))
    while segments.append(datagram(100, 0)) {}
    #expect(segments.count == DatagramTrain.maximumSegments && segments.buffer.readableBytes == 6400)

    var bytes = DatagramTrain(datagram(9000, 0))
    while bytes.append(datagram(9000, 0)) {}
    #expect(bytes.count == 7 && bytes.buffer.readableBytes == 63_000)
    #expect(bytes.buffer.readableBytes <= DatagramTrain.maximumBytes)
  }

  @Test("appending leaves the datagrams it copied untouched (the read buffer they are slices of)")
  func copies() {
    var read = ByteBuffer(bytes: [1, 1, 1, 2, 2, 2])
    let first = read.readSlice(length: 3)!
    let second = read.readSlice(length: 3)!
    var train = DatagramTrain(first)
    #expect(appended(&train, second))
    #expect(Array(first.readableBytesView) == [1, 1, 1] && Array(second.readableBytesView) == [2, 2, 2])
    #expect(Array(train.buffer.readableBytesView) == [1, 1, 1, 2, 2, 2])
  }

  @Test("datagrams behind 4-byte headers (ChannelData) are written into the train; headed and bare never mix")
  func headers() {
    var train = DatagramTrain(datagram(3, 1), header: 0x4000_0003)
    #expect(appended(&train, datagram(3, 2), header: 0x4000_0003))
    #expect(appended(&train, datagram(1, 3), header: 0x4000_0001))
    #expect(!appended(&train, datagram(1, 4), header: 0x4000_0001))  // a shorter one ended it
    #expect(train.count == 3 && train.segmentSize == 7)
    #expect(Array(train.buffer.readableBytesView) == [0x40, 0, 0, 3, 1, 1, 1, 0x40, 0, 0, 3, 2, 2, 2, 0x40, 0, 0, 1, 3])
    #expect(train.envelope(to: destination).metadata?.segmentSize == 7)

    var bare = DatagramTrain(datagram(7, 0))
    #expect(!appended(&bare, datagram(3, 0), header: 0x4000_0003))
    var headed = DatagramTrain(datagram(3, 0), header: 0x4000_0003)
    #expect(!appended(&headed, datagram(7, 0)))
    #expect(bare.count == 1 && headed.count == 1)
    // Alone, a headed datagram is sent as itself: header and data, no segment size.
    #expect(headed.envelope(to: destination).metadata == nil && headed.buffer.readableBytes == 7)
  }
}

import GRPCCore
import NIOCore
import NIOHPACK
import Testing
import Foundation
import WarrenWire

@testable import WarrenSignalServer

/// The frame-level server's pieces of gRPC's HTTP/2 mapping, byte for byte.
@Suite("gRPC framing and status headers (frame-level server)")
struct GRPCWireTests {
  @Test("a message is framed as flag 0, a big-endian length, the bytes")
  func framing() throws {
    var envelope = Cunicu_Signaling_Envelope()
    envelope.sender = Data([1, 2, 3])
    let framed = try GRPCFraming.frame(envelope, allocator: ByteBufferAllocator())
    #expect(Array(framed.readableBytesView) == [0, 0, 0, 0, 5, 0x0A, 3, 1, 2, 3])
    #expect(Array(try GRPCFraming.frame(Cunicu_Empty(), allocator: ByteBufferAllocator()).readableBytesView) == [0, 0, 0, 0, 0])
    let message = try GRPCFraming.singleMessage(framed, limit: 100)
    #expect(Array(message.readableBytesView) == [0x0A, 3, 1, 2, 3])
  }

  @Test(
    "a body that is not one uncompressed message is refused with what is wrong",
    arguments: [
      ([0, 0, 0], GRPCFraming.Failure.truncated(have: 3)),
      ([0, 0, 0, 0, 4, 1, 2], .truncated(have: 7)),
      ([1, 0, 0, 0, 1, 9], .compressed),
      ([0, 0, 0, 0, 200], .tooLarge(length: 200, limit: 100)),
      ([0, 0, 0, 0, 1, 9, 0, 0], .trailingBytes(2)),
    ] as [([UInt8], GRPCFraming.Failure)])
  func malformed(body: [UInt8], failure: GRPCFraming.Failure) {
    #expect(throws: failure) { try GRPCFraming.singleMessage(ByteBuffer(bytes: body), limit: 100) }
  }

  @Test("grpc-message percent-encodes what is not printable ASCII, and %")
  func percentEncoding() {
    #expect(GRPCStatusHeaders.percentEncoded("héllo 100%\n") == "h%C3%A9llo 100%25%0A")
    #expect(GRPCStatusHeaders.percentEncoded("key 'sender' is 3 bytes") == "key 'sender' is 3 bytes")
  }

  @Test("an error before anything was sent is one block: status, content type, grpc-status, message, metadata")
  func trailersOnly() {
    var metadata = Metadata()
    metadata.addString("KEY=", forKey: "warren-server-key")
    let headers = GRPCStatusHeaders.failure(RPCError(code: .invalidArgument, message: "bad 'key'", metadata: metadata), trailersOnly: true)
    #expect(headers.map { "\($0.name): \($0.value)" } == [
      ":status: 200", "content-type: application/grpc", "grpc-status: 3", "grpc-message: bad 'key'",
      "warren-server-key: KEY=",
    ])
    #expect(GRPCStatusHeaders.failure(RPCError(code: .unimplemented, message: "x"), trailersOnly: false).first(name: ":status") == nil)
  }

  @Test("a -bin metadata entry is read padded or not")
  func binaryMetadata() {
    #expect(GRPCStatusHeaders.binaryValue(HPACKHeaders([("warren-proof-bin", "AQID")]), name: "warren-proof-bin") == [1, 2, 3])
    #expect(GRPCStatusHeaders.binaryValue(HPACKHeaders([("warren-proof-bin", "AQI")]), name: "warren-proof-bin") == [1, 2])
    #expect(GRPCStatusHeaders.binaryValue(HPACKHeaders([("warren-proof-bin", "AQI=")]), name: "warren-proof-bin") == [1, 2])
    #expect(GRPCStatusHeaders.binaryValue(HPACKHeaders(), name: "warren-proof-bin") == nil)
  }

  @Test("a client is named as grpc-swift names it, for rate limits and logs")
  func peerNames() throws {
    #expect(SignalingConnection.describe(try SocketAddress(ipAddress: "127.0.0.1", port: 5000)) == "ipv4:127.0.0.1:5000")
    #expect(SignalingConnection.describe(try SocketAddress(ipAddress: "::1", port: 5000)) == "ipv6:[::1]:5000")
    #expect(SignalingConnection.describe(nil) == "unknown")
  }
}

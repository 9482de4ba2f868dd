#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KubernetesTestAPIServer
import Testing
import WarrenCrypto
import WarrenGRPC
import WarrenSignalServer
import WarrenSignaling
import WarrenTestSupport
import WarrenWire
import WarrenWireGRPC

/// What the two HTTP/2 engines of `warren signal` must do alike beyond the calls the other suites
/// make through both: TLS, and calls the server does not have.
@Suite("warren signal's HTTP/2 engines", .serialized, .timeLimit(.scaled(minutes: 1)))
struct SignalEngineTests {
  @Test("over TLS (a test CA's certificate): two peers exchange messages", arguments: SignalServerEngine.allCases)
  func tls(engine: SignalServerEngine) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("warren-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let issued = try TestCertificateAuthority().issueServerCertificate()
    let chain = folder.appendingPathComponent("cert.pem").path
    let key = folder.appendingPathComponent("key.pem").path
    try issued.certificatePEM.write(toFile: chain, atomically: true, encoding: .utf8)
    try issued.privateKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)

    let server = try await RunningServer(engine: engine) { $0.tls = (chain, key) }
    let url = "grpc://127.0.0.1:\(server.port)?skip_verify=true"
    let factory = grpcFactory()
    let (alice, bob) = (testKey(1), testKey(2))
    let a = try factory.makeBackend(url: url)
    let b = try factory.makeBackend(url: url)
    var atBob = try await b.subscribe(KeyPair(ours: bob, theirs: alice.publicKey)).makeAsyncIterator()
    try await a.publish(credentials("over tls"), keys: KeyPair(ours: alice, theirs: bob.publicKey))
    #expect(await next(&atBob)?.message == credentials("over tls"))
    #expect(server.server.relay.statistics.delivered == 1)
    await a.close()
    await b.close()
    try await server.stop()
  }

  @Test(
    "a subscriber that grants a 16 KiB window and stops reading until 400 envelopes of 1 KiB are published receives every one, in order",
    arguments: SignalServerEngine.allCases)
  func beyondTheWindow(engine: SignalServerEngine) async throws {
    let server = try await RunningServer(engine: engine) { $0.queueLimit = 1000 }
    let recipient = Data(repeating: 2, count: 32)
    let count = 400
    // The subscriber reads the first envelope, then nothing until every one is published: the
    // server holds what its window does not let through, and sends it as the window reopens.
    let (published, allPublished) = AsyncStream<Void>.makeStream()
    async let received = withRawClient(port: server.port, window: 16_384) { client in
      var request = Cunicu_Signaling_SubscribeParams()
      request.key = recipient
      return try await client.subscribe(request) { response in
        var bodies: [Data] = []
        for try await envelope in response.messages where !envelope.contents.body.isEmpty {
          bodies.append(envelope.contents.body)
          if bodies.count == 1 { for await _ in published {} }
          if bodies.count == count { break }
        }
        return bodies
      }
    }
    #expect(try await eventually { server.server.relay.statistics.subscriptions == 1 })
    let bodies = (0..<count).map { Data("\($0) ".utf8) + Data(repeating: 7, count: 1000) }
    try await withRawClient(port: server.port) { client in
      for body in bodies {
        var envelope = Cunicu_Signaling_Envelope()
        envelope.sender = Data(repeating: 1, count: 32)
        envelope.recipient = recipient
        envelope.contents.body = body
        envelope.contents.nonce = Data(repeating: 0, count: 24)
        _ = try await client.publish(envelope)
      }
    }
    allPublished.finish()
    #expect(try await received == bodies)
    #expect(server.server.relay.statistics.droppedQueueFull == 0)
    try await server.stop()
  }

  @Test("a method the server does not have is UNIMPLEMENTED; the connection serves on", arguments: SignalServerEngine.allCases)
  func unknownMethod(engine: SignalServerEngine) async throws {
    let server = try await RunningServer(metrics: true, engine: engine)
    try await withGRPCClient(
      transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: server.port), transportSecurity: .plaintext)
    ) { client in
      let nope = MethodDescriptor(fullyQualifiedService: "cunicu.signaling.Signaling", method: "Nope")
      await #expect {
        try await client.unary(
          request: ClientRequest(message: Cunicu_Empty()), descriptor: nope, serializer: EmptySerializer(),
          deserializer: EmptyDeserializer(), options: .defaults
        ) { try $0.message }
      } throws: { ($0 as? RPCError)?.code == .unimplemented }
      // The same connection answers the next call.
      let info = try await Cunicu_Signaling_Signaling.Client(wrapping: client).getBuildInfo(Cunicu_Empty())
      #expect(info == Cunicu_BuildInfo())
    }
    try await server.stop()
  }
}

extension SignalEngineTests {
  @Test("the frame-level server pings a connection that has gone quiet (keepalive)")
  func keepalivePing() async throws {
    let server = try await RunningServer { $0.keepaliveInterval = .milliseconds(200) }
    // A client that opens HTTP/2 (preface, empty SETTINGS) and then says nothing more.
    let frames = try await withCheckedThrowingContinuation { continuation in
      Thread { continuation.resume(with: Result { try quietHTTP2Client(port: server.port, listening: 2) }) }.start()
    }
    let pings = frames.filter { $0.type == 0x6 && $0.flags & 0x1 == 0 && $0.stream == 0 }
    #expect(frames.first?.type == 0x4, "the server's SETTINGS come first: \(frames)")
    #expect(!pings.isEmpty, "no PING in \(frames)")
    try await server.stop()
  }
}

/// Connects to 127.0.0.1:`port`, sends the HTTP/2 preface and an empty SETTINGS frame, then only
/// reads for `seconds`: the frames the server sent, as (type, flags, stream).
private func quietHTTP2Client(port: Int, listening seconds: Int) throws -> [(type: UInt8, flags: UInt8, stream: UInt32)] {
  let fd = try connectedLoopbackTCP(port: port, receiveTimeout: .milliseconds(100))
  defer { close(fd) }
  let hello = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 0x4, 0, 0, 0, 0, 0]
  _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
  var received = [UInt8]()
  var buffer = [UInt8](repeating: 0, count: 4096)
  let end = ContinuousClock.now + .seconds(seconds)
  while ContinuousClock.now < end {
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if n == 0 { break }
    if n > 0 { received += buffer[0..<n] }
  }
  var frames: [(type: UInt8, flags: UInt8, stream: UInt32)] = []
  var at = 0
  while at + 9 <= received.count {
    let length = Int(received[at]) << 16 | Int(received[at + 1]) << 8 | Int(received[at + 2])
    let stream = (UInt32(received[at + 5]) << 24 | UInt32(received[at + 6]) << 16 | UInt32(received[at + 7]) << 8 | UInt32(received[at + 8])) & 0x7FFF_FFFF
    frames.append((received[at + 3], received[at + 4], stream))
    at += 9 + length
  }
  return frames
}

/// `Cunicu_Empty` as gRPC bytes (none), for calls the generated clients cannot make.
private struct EmptySerializer: MessageSerializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: Cunicu_Empty) throws -> Bytes { Bytes([]) }
}

private struct EmptyDeserializer: MessageDeserializer {
  func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Cunicu_Empty { Cunicu_Empty() }
}

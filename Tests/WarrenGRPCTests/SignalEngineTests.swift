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

/// `Cunicu_Empty` as gRPC bytes (none), for calls the generated clients cannot make.
private struct EmptySerializer: MessageSerializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: Cunicu_Empty) throws -> Bytes { Bytes([]) }
}

private struct EmptyDeserializer: MessageDeserializer {
  func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Cunicu_Empty { Cunicu_Empty() }
}

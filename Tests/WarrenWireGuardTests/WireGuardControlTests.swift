import Foundation
import NIOCore
import NIOPosix
import Testing
import WarrenCrypto
import WarrenWireGuard
import WarrenPrimitives
import WarrenTestSupport

/// Exchanges recorded from wireguard-go 0.0.20220316 (Debian) and `wg` from wireguard-tools.
enum Recorded {
  static let get = """
    private_key=e82c4ff93b9575fa534fc90aa9c5e4a64676e52a1b73c23bdaf3abcdcfafc743
    listen_port=51820
    public_key=f7c5e4f356d4e85c67a03f04db93e012f82466252e6c600f3d3af6934cd91124
    preshared_key=0000000000000000000000000000000000000000000000000000000000000000
    protocol_version=1
    endpoint=127.0.0.1:51821
    last_handshake_time_sec=0
    last_handshake_time_nsec=0
    tx_bytes=148
    rx_bytes=0
    persistent_keepalive_interval=25
    allowed_ip=10.9.0.2/32
    allowed_ip=fd00::2/128
    errno=0


    """
  static let dump = """
    6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\trhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=\t51820\toff
    98Xk81bU6FxnoD8E25PgEvgkZiUubGAPPTr2k0zZESQ=\t(none)\t127.0.0.1:51821\t10.9.0.2/32,fd00::2/128\t0\t0\t148\t25

    """
  static let privateKey = "6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M="
  static let peer = "98Xk81bU6FxnoD8E25PgEvgkZiUubGAPPTr2k0zZESQ="
}

@Suite("WireGuard interfaces: userspace API and wg")
struct WireGuardControlTests {
  func expected() throws -> WireGuardDevice {
    var peer = WireGuardDevice.Peer(publicKey: try Key(base64: Recorded.peer), endpoint: TransportAddress(ip: .init("127.0.0.1")!, port: 51821))
    peer.allowedIPs = ["10.9.0.2/32", "fd00::2/128"]
    peer.transmittedBytes = 148
    peer.persistentKeepalive = 25
    return WireGuardDevice(name: "wg0", privateKey: PrivateKey(try Key(base64: Recorded.privateKey)), listenPort: 51820, peers: [peer])
  }

  @Test("a recorded get=1 answer reads into the device, keys from hex")
  func parseGet() throws {
    #expect(try UAPIMessage.parseGet(Recorded.get, interface: "wg0") == expected())
  }

  @Test("a recorded `wg show dump` reads into the same device")
  func parseDump() throws {
    #expect(try WGCommandClient.parseDump(Recorded.dump, interface: "wg0") == expected())
  }

  @Test("peer discovery's requests: a peer added with exactly its allowed IPs, and removed")
  func discoveryRequests() throws {
    let peer = try Key(base64: Recorded.peer)
    let hexKey = "f7c5e4f356d4e85c67a03f04db93e012f82466252e6c600f3d3af6934cd91124"
    #expect(UAPIMessage.setPeerRequest(peer, allowedIPs: ["10.99.0.2/32", "fd00::2/128"]) ==
      "set=1\npublic_key=\(hexKey)\nreplace_allowed_ips=true\nallowed_ip=10.99.0.2/32\nallowed_ip=fd00::2/128\n\n")
    #expect(UAPIMessage.removePeerRequest(peer) == "set=1\npublic_key=\(hexKey)\nremove=true\n\n")
  }

  @Test("set=1 changes only the endpoint of an existing peer; IPv6 endpoints in brackets")
  func setRequest() throws {
    let peer = try Key(base64: Recorded.peer)
    #expect(UAPIMessage.setEndpointRequest(TransportAddress(ip: .init("127.0.0.1")!, port: 40001), peer: peer) ==
      "set=1\npublic_key=f7c5e4f356d4e85c67a03f04db93e012f82466252e6c600f3d3af6934cd91124\nupdate_only=true\nendpoint=127.0.0.1:40001\n\n")
    #expect(UAPIMessage.setEndpointRequest(TransportAddress(ip: .init("::1")!, port: 9), peer: peer).contains("endpoint=[::1]:9\n"))
    #expect(throws: Never.self) { try UAPIMessage.parseSet("errno=0\n\n", interface: "wg0") }
    #expect(throws: WireGuardError(.refused, "wg0", "changing a peer failed: errno=-22")) { try UAPIMessage.parseSet("errno=-22\n\n", interface: "wg0") }
  }

  @Test("renewing a peer: removed and added again with its keys, allowed IPs and endpoint, a keepalive that starts the handshake, then its own keepalive")
  func renewRequests() throws {
    var peer = try expected().peers[0]
    let endpoint = TransportAddress(ip: .init("198.51.100.7")!, port: 40001)
    let key = "f7c5e4f356d4e85c67a03f04db93e012f82466252e6c600f3d3af6934cd91124"
    #expect(UAPIMessage.renewPeerRequests(peer, endpoint: endpoint) == [
      "set=1\npublic_key=\(key)\nremove=true\npublic_key=\(key)\nendpoint=198.51.100.7:40001\n"
        + "persistent_keepalive_interval=25\nallowed_ip=10.9.0.2/32\nallowed_ip=fd00::2/128\n\n",
      "set=1\npublic_key=\(key)\nupdate_only=true\npersistent_keepalive_interval=25\n\n",
    ])
    // No keepalive of its own: 1 s to start the handshake, then off again. A preshared key stays.
    peer.persistentKeepalive = 0
    peer.presharedKey = try Key(bytes: Array(repeating: 0xab, count: 32))
    let requests = UAPIMessage.renewPeerRequests(peer, endpoint: endpoint)
    #expect(requests[0].contains("public_key=\(key)\npreshared_key=\(String(repeating: "ab", count: 32))\nendpoint="))
    #expect(requests[0].contains("persistent_keepalive_interval=1\n"))
    #expect(requests[1].hasSuffix("persistent_keepalive_interval=0\n\n"))
    let (renew, restore) = WGCommandClient.renewPeerArguments(peer, interface: "wg0", endpoint: endpoint)
    #expect(renew == [
      "set", "wg0", "peer", Recorded.peer, "remove", "peer", Recorded.peer, "endpoint", "198.51.100.7:40001",
      "allowed-ips", "10.9.0.2/32,fd00::2/128", "persistent-keepalive", "1", "preshared-key", "/dev/stdin",
    ])
    #expect(restore == ["set", "wg0", "peer", Recorded.peer, "persistent-keepalive", "off"])
  }

  @Test("a preshared key is read from get=1 and from wg show dump; all zeros means none")
  func presharedKeys() throws {
    let psk = String(repeating: "ab", count: 32)
    let device = try UAPIMessage.parseGet(Recorded.get.replacingOccurrences(of: "preshared_key=" + String(repeating: "0", count: 64), with: "preshared_key=\(psk)"), interface: "wg0")
    #expect(device.peers[0].presharedKey == (try Key(bytes: Array(repeating: 0xab, count: 32))))
    #expect(try UAPIMessage.parseGet(Recorded.get, interface: "wg0").peers[0].presharedKey == nil)
    let dump = Recorded.dump.replacingOccurrences(of: "\t(none)\t127", with: "\t\(try Key(bytes: Array(repeating: 0xab, count: 32)).base64)\t127")
    #expect(try WGCommandClient.parseDump(dump, interface: "wg0").peers[0].presharedKey == (try Key(bytes: Array(repeating: 0xab, count: 32))))
  }

  @Test("malformed answers are errors naming the line, never a crash; a refusal is told apart", arguments: [
    ("errno=-2\n\n", WireGuardError.Code.refused, "the device answered errno=-2"),
    ("listen_port=51820\n", .malformedAnswer, "ended without errno"),
    ("listen_port=51820\nnonsense\nerrno=0\n\n", .malformedAnswer, "line 2: 'nonsense' is not key=value"),
    ("private_key=zz\nerrno=0\n\n", .malformedAnswer, "line 1: private_key=zz is not a 32-byte hex key"),
    ("listen_port=99999\nerrno=0\n\n", .malformedAnswer, "line 1: listen_port=99999 is not a port"),
    ("endpoint=127.0.0.1:1\nerrno=0\n\n", .malformedAnswer, "line 1: endpoint=127.0.0.1:1 is not an endpoint of a peer"),
  ])
  func malformed(text: String, code: WireGuardError.Code, expected: String) {
    #expect {
      try UAPIMessage.parseGet(text, interface: "wg0")
    } throws: {
      guard let error = $0 as? WireGuardError else { return false }
      return error.code == code && error.interface == "wg0" && "\(error)".hasPrefix("\(code): WireGuard interface wg0: ")
        && error.message.contains(expected)
    }
  }

  @Test("unknown keys from newer implementations are skipped")
  func unknownKeys() throws {
    let device = try UAPIMessage.parseGet("listen_port=1\nfuture_thing=7\nerrno=0\n\n", interface: "wg0")
    #expect(device.listenPort == 1 && device.peers.isEmpty)
  }

  @Test("the socket client: exact requests on the wire, answers read to their empty line", .timeLimit(.scaled(minutes: 1)))
  func socketClient() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-uapi-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let server = try await FakeUAPIServer(path: "\(directory)/wg0.sock", answers: [Recorded.get, "errno=0\n\n"])
    let client = UAPIClient(name: "wg0", socketDirectory: directory)
    #expect(try await client.device() == expected())
    try await client.setEndpoint(TransportAddress(ip: .init("127.0.0.1")!, port: 40001), peer: try Key(base64: Recorded.peer))
    #expect(server.requests == [UAPIMessage.getRequest, UAPIMessage.setEndpointRequest(TransportAddress(ip: .init("127.0.0.1")!, port: 40001), peer: try Key(base64: Recorded.peer))])
    try await server.close()
    // No socket: an error that says so.
    await #expect(throws: WireGuardError(.unreachable, "wg1", "no such interface: \(directory)/wg1.sock does not exist (is wireguard-go running?)")) {
      _ = try await UAPIClient(name: "wg1", socketDirectory: directory).device()
    }
    #expect(WireGuard.control(for: "wg0", socketDirectory: directory) is WGCommandClient)  // socket gone
  }
}

/// A configuration socket that answers each connection's request with the next recorded answer.
final class FakeUAPIServer: Sendable {
  private let task: Task<Void, any Error>
  private final class Log: Sendable { let requests = Locked<[String]>([]) }
  private let log = Log()

  var requests: [String] { log.requests.withLock { $0 } }

  init(path: String, answers: [String]) async throws {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .bind(unixDomainSocketPath: path) { channel in
        channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
      }
    let log = self.log
    task = Task {
      var pending = answers
      try await channel.executeThenClose { connections in
        for try await connection in connections {
          let answer = pending.isEmpty ? "errno=-5\n\n" : pending.removeFirst()
          try await connection.executeThenClose { inbound, outbound in
            var request: [UInt8] = []
            for try await chunk in inbound {
              request += chunk.readableBytesView
              if request.suffix(2) == [10, 10] { break }
            }
            log.requests.withLock { $0.append(String(decoding: request, as: UTF8.self)) }
            try await outbound.write(ByteBuffer(string: answer))
          }
        }
      }
    }
  }

  func close() async throws {
    task.cancel()
    _ = await task.result
  }
}

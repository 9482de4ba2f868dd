import Foundation
import KubernetesTestAPIServer
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenTestSupport

/// `warren signal` and two `warren up` processes on loopback: a datagram sent to one daemon's
/// proxy reaches the application behind the other, and the answer comes back; `warren status`
/// and `warren ping` report the session; SIGHUP applies a changed peer list; SIGTERM stops both.
@Suite("warren up across processes (integration)", .timeLimit(.scaled(minutes: 1)))
struct UpIntegrationTests: WarrenProcessTesting {
  @Test("two warren up connect with a k8s:// backend alone and carry a datagram both ways")
  func kubernetesBackend() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-up-k8s-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let server = try await KubernetesTestAPIServer.start()
    let kubeconfig = directory.appendingPathComponent("kubeconfig").path
    try server.kubeconfig().write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    let backend = "k8s://\(kubeconfig)?namespace=cunicu"
    let alice = PrivateKey.generate(), bob = PrivateKey.generate()
    let application = try UDPSocket(port: 0), echo = try UDPSocket(port: 0)
    defer {
      application.close()
      echo.close()
    }
    let aliceListen = try freeUDPPort(), bobListen = try freeUDPPort()
    let up = [
      try start(["up", "--config", try writeConfig(in: directory, alice, "bob", bob.publicKey, forward: application.port, listen: aliceListen, backend: backend)]),
      try start(["up", "--config", try writeConfig(in: directory, bob, "alice", alice.publicKey, forward: echo.port, listen: bobListen, backend: backend)]),
    ]
    defer {
      for process in up where process.isRunning { process.terminate() }
    }
    let hello = Array("hello through the Kubernetes API".utf8)
    #expect(await sendUntilReceived(hello, from: application, via: aliceListen, to: echo)?.bytes == hello)
    echo.send(Array(hello.reversed()), to: bobListen)
    #expect(try await offThePool { application.receive(timeout: .seconds(2)) }?.bytes == Array(hello.reversed()))
    #expect(server.requestLog.contains { $0.hasPrefix("POST /apis/cunicu.li/v1/namespaces/cunicu/signalingenvelopes") })
    for process in up { process.terminate() }
    for process in up { #expect(try await waitForExit(process, within: .seconds(10))) }
    #expect(up.allSatisfy { $0.terminationStatus == 0 && $0.terminationReason == .exit })
    await server.stop()
  }

  @Test("two daemons connect through warren signal and carry a datagram both ways")
  func twoDaemons() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-up-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let alice = PrivateKey.generate(), bob = PrivateKey.generate()
    let signalPort = try freeUDPPort()  // a TCP port number that is very likely free too
    let application = try UDPSocket(port: 0), echo = try UDPSocket(port: 0)
    defer {
      application.close()
      echo.close()
    }
    let aliceListen = try freeUDPPort(), bobListen = try freeUDPPort()
    func config(_ ours: PrivateKey, _ name: String, _ theirs: Key, forward: UInt16, listen: UInt16, extra: String = "") throws -> String {
      try writeConfig(
        in: directory, ours, name, theirs, forward: forward, listen: listen, backend: "grpc://127.0.0.1:\(signalPort)?insecure=true",
        extra: extra)
    }
    let signal = try start(["signal", "--listen", "127.0.0.1:\(signalPort)", "--log-level", "warning"])
    let up = [
      try start(["up", "--config", try config(alice, "bob", bob.publicKey, forward: application.port, listen: aliceListen)]),
      try start(["up", "--config", try config(bob, "alice", alice.publicKey, forward: echo.port, listen: bobListen)]),
    ]
    defer {
      for process in up + [signal] where process.isRunning { process.terminate() }
    }

    // Until the session is up, datagrams to the proxy go nowhere: keep sending.
    let hello = [UInt8]([4, 0, 0, 0]) + Array("hello through warren up".utf8)
    let received = await sendUntilReceived(hello, from: application, via: aliceListen, to: echo)
    #expect(received?.bytes == hello)
    #expect(received?.from == bobListen)
    echo.send(Array(hello.reversed()), to: bobListen)
    #expect(try await offThePool { application.receive(timeout: .seconds(2)) }?.bytes == Array(hello.reversed()))

    // What the daemon behind the application says about bob, as a script would read it.
    let socket = "\(directory.path)/bob.sock"
    let status = try await offThePool { try runWarren(["status", "--json", "--socket", socket]) }
    #expect(status.status == 0, "\(status.stderr)")
    let report = try ControlCoding.decode(StatusReport.self, from: Array(status.stdout.utf8))
    let bobReport = try #require(report.peers.first)
    #expect(report.publicKey == alice.publicKey.base64 && bobReport.name == "bob")
    #expect(["connected", "completed"].contains(bobReport.state) && bobReport.path == "direct")
    #expect(bobReport.packetsSent >= 1 && bobReport.packetsReceived == 1 && bobReport.listen == "127.0.0.1:\(aliceListen)")
    let table = try await offThePool { try runWarren(["status", "--socket", socket]) }
    #expect(table.stdout.contains("PEER") && table.stdout.contains("bob") && table.stdout.contains("direct"))

    let ping = try await offThePool { try runWarren(["ping", "bob", "-c", "3", "--interval", "0.05", "--socket", socket]) }
    #expect(ping.status == 0, "\(ping.stdout)\(ping.stderr)")
    #expect(ping.stdout.components(separatedBy: "pong from bob via direct host 127.0.0.1:").count == 4)
    #expect(ping.stdout.contains("3 probes, 3 answered, 0% lost"))
    let unknown = try await offThePool { try runWarren(["ping", "carol", "--socket", socket]) }
    #expect(unknown.status == 1 && unknown.stderr.contains("no peer named 'carol'"))

    // SIGHUP: a second peer appears; bob's session carries on.
    _ = try config(
      alice, "bob", bob.publicKey, forward: application.port, listen: aliceListen,
      extra: "  carol:\n    public_key: \(PrivateKey.generate().publicKey.base64)\n    forward: 127.0.0.1:9")
    kill(up[0].processIdentifier, SIGHUP)
    let peers: [PeerReport] = try await firstValue(within: .seconds(5)) {
      let output = try await offThePool { try runWarren(["status", "--json", "--socket", socket]) }.stdout
      let peers = (try? ControlCoding.decode(StatusReport.self, from: Array(output.utf8)).peers) ?? []
      return peers.count >= 2 ? peers : nil
    } ?? []
    #expect(peers.map(\.name) == ["bob", "carol"])
    #expect(peers.first?.restarts == 0 && ["connected", "completed"].contains(peers.first?.state ?? ""))

    for process in up { process.terminate() }
    for process in up { #expect(try await waitForExit(process, within: .seconds(10))) }
    #expect(up.allSatisfy { $0.terminationStatus == 0 && $0.terminationReason == .exit })
  }
}

import Foundation
import Logging
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenSignaling
import WarrenTestSupport

/// Two daemons in one process over the in-process backend and real loopback sockets, asked
/// through their control sockets the way `warren status` and `warren ping` ask.
@Suite("daemon control socket and reload (integration)", .timeLimit(.scaled(minutes: 1)))
struct DaemonControlTests: DaemonSocketTesting {
  let directory: String
  let alice = PrivateKey.generate()
  let bob = PrivateKey.generate()
  let factory = BackendFactory(logger: Logger(label: "test"))

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-control-\(UUID())").path
  }

  @Test("status and ping answer through the socket; reload adds, restarts and removes only the peers that changed")
  func statusPingReload() async throws {
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let a = try Daemon(
      configuration: try configuration(alice, peers: [("bob", bob.publicKey, "127.0.0.1:9")], socket: "alice.sock"),
      factory: factory, logger: Logger(label: "alice"))
    let b = try Daemon(
      configuration: try configuration(bob, peers: [("alice", alice.publicKey, "127.0.0.1:9")], socket: "bob.sock"),
      factory: factory, logger: Logger(label: "bob"))
    let tasks = [Task { try await a.run() }, Task { try await b.run() }]
    defer { for task in tasks { task.cancel() } }

    // Status: the peer, its role by key order, a direct path on loopback and the socket's mode.
    let bobAtAlice = try await waitConnected("alice.sock", peer: "bob", path: "direct")
    #expect(bobAtAlice.publicKey == bob.publicKey.base64)
    #expect(bobAtAlice.role == (alice.publicKey < bob.publicKey ? "controlling" : "controlled"))
    #expect(bobAtAlice.path == "direct")
    #expect(bobAtAlice.local?.type == "host" && bobAtAlice.remote?.type == "host")
    #expect(bobAtAlice.restarts == 0)
    let mode = try FileManager.default.attributesOfItem(atPath: "\(directory)/alice.sock")[.posixPermissions] as? Int
    #expect(mode == 0o600)

    // Ping by name and by key: every probe answered over the direct pair.
    let pongs = try await replies(ControlRequest(command: .ping, peer: "bob", count: 3, intervalMs: 20), "alice.sock", as: PingReply.self)
    #expect(pongs.map(\.seq) == [1, 2, 3])
    #expect(pongs.allSatisfy { $0.result == .answered && $0.path == "direct" && ($0.rttMs ?? -1) > 0 })
    let byKey = try await replies(ControlRequest(command: .ping, peer: alice.publicKey.base64, count: 1), "bob.sock", as: PingReply.self)
    #expect(byKey.first?.result == .answered && byKey.first?.peer == "alice")

    // Bad requests are answered with an error naming the problem.
    await #expect(throws: ControlFailure("no peer named 'carol' (configured: bob)")) {
      _ = try await replies(ControlRequest(command: .ping, peer: "carol"), "alice.sock", as: PingReply.self)
    }
    await #expect(throws: ControlFailure("count must be between 1 and 1000, got 0")) {
      _ = try await replies(ControlRequest(command: .ping, peer: "bob", count: 0), "alice.sock", as: PingReply.self)
    }
    // A second daemon on the same socket is refused rather than stealing it.
    let intruder = try Daemon(
      configuration: try configuration(alice, peers: [], socket: "alice.sock"), factory: factory, logger: Logger(label: "x"))
    await #expect(throws: ControlFailure.self) { try await intruder.run() }
    #expect(try await status("alice.sock").peers.count == 1)

    // Reload: carol added, bob untouched (same link, same session, no restart).
    let carol = PrivateKey.generate()
    let linkBefore = try #require(a.links.first)
    let added = await a.reload(
      try configuration(alice, peers: [("bob", bob.publicKey, "127.0.0.1:9"), ("carol", carol.publicKey, "127.0.0.1:9")], socket: "alice.sock"))
    #expect(added == Daemon.ReloadSummary(added: ["carol"]))
    let afterAdd = try await status("alice.sock")
    #expect(afterAdd.peers.map(\.name) == ["bob", "carol"])
    #expect(a.links.first === linkBefore)
    let bobAfter = try #require(afterAdd.peers.first)
    #expect(["connected", "completed"].contains(bobAfter.state) && bobAfter.restarts == 0)
    #expect((bobAfter.secondsInState ?? 0) >= (bobAtAlice.secondsInState ?? 0))

    // bob's forward changes: only bob starts over; carol removed.
    let changed = await a.reload(try configuration(alice, peers: [("bob", bob.publicKey, "127.0.0.1:10")], socket: "alice.sock"))
    #expect(changed == Daemon.ReloadSummary(removed: ["carol"], restarted: ["bob"]))
    #expect(a.links.count == 1 && a.links.first !== linkBefore)
    let reconnected = try await waitConnected("alice.sock", peer: "bob")
    #expect(reconnected.forward == "127.0.0.1:10")
  }

  @Test("a malformed request gets an error line, not a dropped connection")
  func malformedRequest() async throws {
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let daemon = try Daemon(
      configuration: try configuration(alice, peers: [], socket: "solo.sock"), factory: factory, logger: Logger(label: "solo"))
    let task = Task { try await daemon.run() }
    defer { task.cancel() }
    // A request the daemon cannot decode (an unknown command), once it answers.
    let path = "\(directory)/solo.sock"
    #expect(try await eventually(within: .seconds(2)) { await DaemonControl.status(path) != nil })
    #expect(try await status("solo.sock").peers == [])
    var lines: [String] = []
    try await ControlSocket.exchange(Array(#"{"command":"reboot"}"#.utf8) + [10], path: path) {
      lines.append(String(decoding: $0, as: UTF8.self))
    }
    #expect(lines == [#"{"error":"malformed request: expected one JSON object with a known \"command\""}"#])
    task.cancel()
    _ = await task.result
    #expect(!FileManager.default.fileExists(atPath: path))
  }
}

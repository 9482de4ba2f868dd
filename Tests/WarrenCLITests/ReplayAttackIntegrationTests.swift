import WarrenPrimitives
import Foundation
import Logging
import Synchronization
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenGRPC
import WarrenSession
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

/// A stream of numbered datagrams from the application through both daemons to an echo and
/// back, at `rate` per second, counting which came back.
final class EchoStream: Sendable {
  private let sent = Atomic<Int>(0)
  private let echoed = Locked<Set<Int>>([])
  private let running = Atomic<Bool>(true)

  /// Echoes on `echo`, sends from `application` to `listen`, receives on `application`.
  init(application: UDPSocket, listen: UInt16, echo: UDPSocket, rate: Int) {
    Thread.detachNewThread { [self] in
      while running.load(ordering: .relaxed) {
        if let datagram = echo.receive(timeout: .milliseconds(100)) { echo.send(datagram.bytes, to: datagram.from) }
      }
    }
    Thread.detachNewThread { [self] in
      while running.load(ordering: .relaxed) {
        guard let datagram = application.receive(timeout: .milliseconds(100)), datagram.bytes.count >= 5 else { continue }
        let sequence = datagram.bytes[1..<5].reduce(0) { $0 << 8 | Int($1) }
        echoed.withLock { _ = $0.insert(sequence) }
      }
    }
    Thread.detachNewThread { [self] in
      let interval = 1.0 / Double(rate)
      let started = Date()
      var sequence = 0
      while running.load(ordering: .relaxed) {
        // WireGuard's transport-data type, a sequence number, and padding to a small packet.
        let bytes = [4] + (0..<4).map { UInt8(truncatingIfNeeded: sequence >> (24 - 8 * $0)) } + [UInt8](repeating: 0x5a, count: 59)
        application.send(bytes, to: listen)
        sequence += 1
        sent.store(sequence, ordering: .relaxed)
        Thread.sleep(until: started.addingTimeInterval(Double(sequence) * interval))
      }
    }
  }

  /// Stops sending, waits `drain` for the last answers, and returns (sent, echoed).
  func stop(drain: Duration) async throws -> (sent: Int, echoed: Int) {
    let total = sent.load(ordering: .relaxed)
    try await Task.sleep(for: drain)
    running.store(false, ordering: .relaxed)
    return (total, echoed.withLock { set in set.filter { $0 < total }.count })
  }
}

/// Issue 13's attack, across processes on loopback: `warren signal`, two `warren up`, and an
/// attacker that subscribes to both keys and records every envelope. One daemon restarts; then
/// the attacker replays a recorded credentials answer from before the restart once, and then
/// 100 recorded envelopes over 20 s, while 200 datagrams per second go through the session.
@Suite("restarts converge across processes: recorded signaling replayed (integration)", .timeLimit(.scaled(minutes: 2)), .enabled(if: processTestsEnabled))
struct ReplayAttackIntegrationTests: WarrenProcessTesting {
  @Test("replayed envelopes move no restart counter, lose no datagram and cause no envelope storm")
  func replayedSignaling() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-replay-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let alice = PrivateKey.generate(), bob = PrivateKey.generate()
    let signalPort = try freeTCPPort(), metricsPort = try freeTCPPort()
    let application = try UDPSocket(port: 0), echo = try UDPSocket(port: 0)
    defer {
      application.close()
      echo.close()
    }
    let aliceListen = try freeUDPPort(), bobListen = try freeUDPPort()
    let backend = "grpc://127.0.0.1:\(signalPort)?insecure=true"
    let aliceConfig = try writeConfig(
      in: directory, alice, "bob", bob.publicKey, forward: application.port, listen: aliceListen, backend: backend)
    let bobConfig = try writeConfig(in: directory, bob, "alice", alice.publicKey, forward: echo.port, listen: bobListen, backend: backend)
    let signal = try start(["signal", "--listen", "127.0.0.1:\(signalPort)", "--metrics", "127.0.0.1:\(metricsPort)", "--log-level", "warning"])
    defer { signal.terminate() }
    // The attacker, subscribed before the daemons start: without --require-proof, any client may
    // subscribe to any key.
    let attacker = try Eavesdropper(port: Int(signalPort))
    for key in [alice.publicKey, bob.publicKey] { try await attacker.subscribe(key) }
    // Bob first, and Alice once Bob is subscribed and waiting (Idle): Alice's request then
    // reaches him, so that an answer of his (need_creds false) is on record.
    var bobDaemon = try start(["up", "--config", bobConfig])
    let aliceSocket = "\(directory.path)/bob.sock", bobSocket = "\(directory.path)/alice.sock"
    _ = try await eventually { await DaemonControl.status(bobSocket)?.peers.first?.state == "idle" }
    let aliceDaemon = try start(["up", "--config", aliceConfig])
    defer {
      for process in [aliceDaemon, bobDaemon] where process.isRunning { process.terminate() }
    }
    _ = try await DaemonControl.waitConnected(aliceSocket, peer: "bob")
    _ = try await DaemonControl.waitConnected(bobSocket, peer: "alice")

    // Bob's daemon restarts; the sessions reconnect.
    bobDaemon.terminate()
    #expect(try await waitForExit(bobDaemon, within: .seconds(10)))
    let beforeRestart = attacker.recorded
    bobDaemon = try start(["up", "--config", bobConfig])
    let restartedAt = ContinuousClock.now
    _ = try await DaemonControl.waitConnected(bobSocket, peer: "alice")
    let bobAtAlice = try await DaemonControl.waitConnected(aliceSocket, peer: "bob")
    let reconnected = ContinuousClock.now - restartedAt
    print("reconnected \(reconnected) after bob's daemon restarted")
    #expect(bobAtAlice.restartCauses == RestartCounts([.peerRestarted: 1]))
    let aliceAtBob = try #require(await DaemonControl.status(bobSocket)?.peers.first)
    #expect(aliceAtBob.restarts == 0)

    let stream = EchoStream(application: application, listen: aliceListen, echo: echo, rate: 200)
    // The last candidates of the reconnection trickle out: the server's count stops moving.
    let (published, quiet) = try await settledValue { try publishedEnvelopes(metricsPort) }
    #expect(quiet, "signaling never went quiet after the reconnection")

    // Once: the answer bob sent before his restart (credentials, need_creds false).
    let sealer = EnvelopeSealer()
    let answer = try #require(
      beforeRestart.first { envelope in
        guard let opened = try? sealer.open(envelope, as: alice) else { return false }
        return opened.message.hasCredentials && !opened.message.credentials.needCreds
      })
    try await attacker.publish(answer)
    var states = try await observe(for: .seconds(2), every: .milliseconds(200)) { await statesNow(aliceSocket, bobSocket) }

    // Then a hundred recorded envelopes over 20 s, both directions, every kind.
    for index in 0..<100 {
      try await attacker.publish(beforeRestart[index % beforeRestart.count])
      try await Task.sleep(for: .milliseconds(200))
      if index % 10 == 9 { states.append(await statesNow(aliceSocket, bobSocket)) }
    }
    states += try await observe(for: .seconds(1), every: .milliseconds(200)) { await statesNow(aliceSocket, bobSocket) }
    let traffic = try await stream.stop(drain: .milliseconds(500))
    let storm = try publishedEnvelopes(metricsPort) - published

    let bobAfter = try #require(await DaemonControl.status(aliceSocket)?.peers.first)
    let aliceAfter = try #require(await DaemonControl.status(bobSocket)?.peers.first)
    print(
      "replayed \(beforeRestart.count) recorded envelopes 101 times; \(storm) envelopes published meanwhile; "
        + "\(traffic.echoed) of \(traffic.sent) datagrams echoed; dropped at alice \(bobAfter.droppedMessages), at bob \(aliceAfter.droppedMessages)")
    #expect(states.allSatisfy { $0 == [true, true] }, "a session left Connected: \(states)")
    #expect(bobAfter.restartCauses == bobAtAlice.restartCauses && aliceAfter.restarts == 0)
    // Every replayed envelope was recognised as a copy: at alice (who accepted them) by nonce;
    // at bob's restarted daemon, which never saw alice's older envelopes, by their agent
    // generation (alice's agent before the restart is older than the one she answered it with).
    let dropped = [bobAfter.droppedMessages, aliceAfter.droppedMessages]
    #expect(dropped.map(\.total).reduce(0, +) == 101)
    #expect(dropped.map { $0[.seenNonce] + $0[.staleFreshness] + $0[.staleAgent] }.reduce(0, +) == 101, "\(dropped)")
    #expect(traffic.sent > 4000 && traffic.echoed == traffic.sent, "\(traffic.sent - traffic.echoed) datagrams lost")
    // The server relayed the attacker's 101 envelopes and nothing else: no answers, no restarts.
    #expect(storm == 101)

    // Bob's daemon restarts once more, while the attacker replays at both keys, every 10 ms,
    // everything it recorded before the first restart: old credentials and candidates of both.
    bobDaemon.terminate()
    #expect(try await waitForExit(bobDaemon, within: .seconds(10)))
    let aliceBefore = try #require(await DaemonControl.status(aliceSocket)?.peers.first)
    let underReplay = try await withThrowingTaskGroup(of: Void.self) { replays in
      replays.addTask {
        var index = 0
        while !Task.isCancelled {
          try? await attacker.publish(beforeRestart[index % beforeRestart.count])
          index += 1
          try await Task.sleep(for: .milliseconds(10))
        }
      }
      defer { replays.cancelAll() }
      bobDaemon = try start(["up", "--config", bobConfig])
      let restarted = ContinuousClock.now
      _ = try await DaemonControl.waitConnected(bobSocket, peer: "alice")
      _ = try await DaemonControl.waitConnected(aliceSocket, peer: "bob")
      return ContinuousClock.now - restarted
    }
    let aliceAtBobAgain = try #require(await DaemonControl.status(bobSocket)?.peers.first)
    let bobAtAliceAgain = try #require(await DaemonControl.status(aliceSocket)?.peers.first)
    print(
      "under replay: reconnected \(underReplay) after bob's daemon restarted (without replays: \(reconnected)); "
        + "restarts at bob \(aliceAtBobAgain.restartCauses), at alice \(bobAtAliceAgain.restartCauses); dropped at bob \(aliceAtBobAgain.droppedMessages)")
    // Bob's restart costs alice the one restart it always costs (answering it); the replays cost
    // neither side anything more.
    #expect(bobAtAliceAgain.restarts == aliceBefore.restarts + 1)
    #expect(aliceAtBobAgain.restarts == 0, "bob took a replayed copy for alice's present: \(aliceAtBob.restartCauses)")

    await attacker.close()
    for process in [aliceDaemon, bobDaemon, signal] { process.terminate() }
    for process in [aliceDaemon, bobDaemon, signal] { #expect(try await waitForExit(process, within: .seconds(10))) }
  }

  /// Whether each daemon's session with the other is connected right now.
  func statesNow(_ sockets: String...) async -> [Bool] {
    var states: [Bool] = []
    for socket in sockets { states.append(await DaemonControl.status(socket)?.peers.first?.isConnected ?? false) }
    return states
  }

  /// The signal server's count of envelopes accepted by Publish.
  func publishedEnvelopes(_ port: UInt16) throws -> Int {
    let metrics = try blockingHTTPGet(port: Int(port), path: "/metrics")
    let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("warren_signal_envelopes_published_total ") })
    return Int(Double(line.split(separator: " ").last!)!)
  }
}

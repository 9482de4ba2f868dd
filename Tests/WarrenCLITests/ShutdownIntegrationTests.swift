import Foundation
import Synchronization
import Testing
import WarrenCrypto
import WarrenTestSupport

/// Clients that send a request every 2 ms or so, each on a thread of its own, with plain blocking
/// socket calls: a daemon's status over its control socket, or a signal server's metrics.
final class Pollers: Sendable {
  private let running = Atomic<Bool>(true)
  private let answered = Atomic<Int>(0)
  private let finished = Atomic<Int>(0)
  private let clients: Int

  /// `request` returns whether a whole answer came back.
  init(clients: Int, request: @escaping @Sendable () -> Bool) {
    self.clients = clients
    for _ in 0..<clients {
      Thread.detachNewThread { [self] in
        while running.load(ordering: .relaxed) {
          if request() { answered.add(1, ordering: .relaxed) }
          // Paced, so that the polling itself does not starve tests that run alongside.
          usleep(2000)
        }
        finished.add(1, ordering: .relaxed)
      }
    }
  }

  /// Status answers received so far.
  var answers: Int { answered.load(ordering: .relaxed) }

  /// Stops the clients and waits until each has finished its last request.
  func stop() async throws {
    running.store(false, ordering: .relaxed)
    let finishedAll = try await eventually(within: .seconds(10), every: .milliseconds(2)) { finished.load(ordering: .relaxed) >= clients }
    #expect(finishedAll, "a client never finished its last request")
  }

  /// One status request over the control socket at `path`; true when an answer came back.
  static func askStatus(_ path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    // A crashing daemon's backtracer inherits its sockets and may hold them open for a while.
    var wait = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { return false }
    let request = Array("{\"command\":\"status\"}\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return false }
    var buffer = [UInt8](repeating: 0, count: 4096)
    var total = 0
    while true {
      let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if count <= 0 { break }
      total += count
    }
    return total > 0
  }
}

/// Issue 14: `warren up` must never crash on shutdown, whatever its control-socket clients do.
@Suite("warren up and warren signal shut down cleanly under client requests (integration)", .timeLimit(.scaled(minutes: 3)), .enabled(if: processTestsEnabled))
struct ShutdownIntegrationTests: WarrenProcessTesting {
  @Test("SIGTERM while four clients poll status, 50 times: exit status 0 every time, no socket file left")
  func sigtermUnderStatusPolling() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-shutdown-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let socket = "\(directory.path)/control.sock"
    let config = directory.appendingPathComponent("warren.yaml").path
    try """
      private_key: \(PrivateKey.generate().key.base64)
      backends: [ "inprocess:" ]
      control_socket: \(socket)
      ice:
        interfaces_include: [ lo ]
        network_types: [ udp4 ]
      peers:
        bob:
          public_key: \(PrivateKey.generate().publicKey.base64)
          forward: 127.0.0.1:9
      """.write(toFile: config, atomically: true, encoding: .utf8)
    var outcomes: [String] = []
    var answers = 0
    for _ in 0..<50 where outcomes.filter({ $0 != "exit 0" }).count < 3 {
      let daemon = try start(["up", "--config", config, "--log-level", "warning"])
      let pollers = Pollers(clients: 4) { Pollers.askStatus(socket) }
      // Until the daemon answers, and a little longer, so that requests are in flight.
      _ = try await eventually(within: .seconds(10), every: .milliseconds(5)) { pollers.answers >= 5 }
      kill(daemon.processIdentifier, SIGTERM)
      // A clean stop takes milliseconds; a crash spends seconds in the backtracer.
      let exited = try await waitForExit(daemon, within: .seconds(3))
      try await pollers.stop()
      answers += pollers.answers
      let leftover = FileManager.default.fileExists(atPath: socket)
      guard exited else {
        kill(daemon.processIdentifier, SIGKILL)
        outcomes.append("still running 3 s after SIGTERM\(leftover ? ", socket left" : "")")
        try? FileManager.default.removeItem(atPath: socket)
        continue
      }
      outcomes.append("\(daemon.terminationReason == .exit ? "exit" : "signal") \(daemon.terminationStatus)\(leftover ? " socket left" : "")")
      if leftover { try? FileManager.default.removeItem(atPath: socket) }
    }
    let failures = outcomes.filter { $0 != "exit 0" }
    print("\(outcomes.count) SIGTERMs under status polling: \(outcomes.count - failures.count) clean exits, \(answers) status answers; \(failures)")
    // Three unclean shutdowns end the run early (a crash spends seconds in the backtracer).
    #expect(outcomes.count == 50 && failures.isEmpty, "\(failures.count) of \(outcomes.count) shutdowns were not clean: \(failures)")
  }

  @Test("warren signal: SIGTERM while four clients scrape /metrics, 20 times: exit status 0 every time")
  func signalServerUnderScrapes() async throws {
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("warren-signal-\(UUID()).log").path
    defer { try? FileManager.default.removeItem(atPath: log) }
    var outcomes: [String] = []
    var answers = 0
    var portsTaken = 0
    while outcomes.count < 20 && outcomes.filter({ $0 != "exit 0" }).count < 3 {
      let port = try freeTCPPort(), metrics = try freeTCPPort()
      let server = try start(
        ["signal", "--listen", "127.0.0.1:\(port)", "--metrics", "127.0.0.1:\(metrics)", "--log-level", "warning"], stderr: log)
      let pollers = Pollers(clients: 4) { !((try? blockingHTTPGet(port: Int(metrics), path: "/metrics")) ?? "").isEmpty }
      _ = try await eventually(within: .seconds(10), every: .milliseconds(5)) { pollers.answers >= 5 }
      kill(server.processIdentifier, SIGTERM)
      let exited = try await waitForExit(server, within: .seconds(5))
      try await pollers.stop()
      answers += pollers.answers
      guard exited else {
        kill(server.processIdentifier, SIGKILL)
        outcomes.append("still running 5 s after SIGTERM")
        continue
      }
      let outcome = "\(server.terminationReason == .exit ? "exit" : "signal") \(server.terminationStatus)"
      if outcome != "exit 0" {
        let said = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: " / ") ?? ""
        // Another process took a port between the probe and the bind: not a shutdown; again.
        if said.contains("Address already in use") && portsTaken < 5 {
          portsTaken += 1
          continue
        }
        outcomes.append("\(outcome): \(said)")
      } else {
        outcomes.append(outcome)
      }
    }
    let failures = outcomes.filter { $0 != "exit 0" }
    print("\(outcomes.count) SIGTERMs under /metrics scrapes: \(outcomes.count - failures.count) clean exits, \(answers) scrapes; \(failures)")
    #expect(outcomes.count == 20 && failures.isEmpty, "\(failures.count) of \(outcomes.count) shutdowns were not clean: \(failures)")
  }
}

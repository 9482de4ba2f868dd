import Foundation
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenTestSupport

/// Tests that run `warren` processes on loopback: start them, write their configuration, play
/// the application, and ask a daemon for its status the way a script would.
protocol WarrenProcessTesting {}

extension WarrenProcessTesting {
  func start(_ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = try warrenExecutable()
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
  }

  func freeUDPPort() throws -> UInt16 {
    let socket = try UDPSocket(port: 0)
    defer { socket.close() }
    return socket.port
  }

  /// Writes `warren up`'s configuration for one peer, named after that peer.
  func writeConfig(
    in directory: URL, _ ours: PrivateKey, _ name: String, _ theirs: Key, forward: UInt16, listen: UInt16, backend: String,
    extra: String = ""
  ) throws -> String {
    let path = directory.appendingPathComponent("\(name).yaml").path
    try """
      private_key: \(ours.key.base64)
      backends: [ "\(backend)" ]
      control_socket: \(directory.path)/\(name).sock
      ice:
        interfaces_include: [ lo ]
        network_types: [ udp4 ]
      peers:
        \(name):
          public_key: \(theirs.base64)
          forward: 127.0.0.1:\(forward)
          listen: 127.0.0.1:\(listen)
      \(extra)
      """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// Sends `bytes` to `listen` (a proxy) from `from` until `to` receives them, up to 10 s.
  func sendUntilReceived(_ bytes: [UInt8], from: UDPSocket, via listen: UInt16, to: UDPSocket) -> (bytes: [UInt8], from: UInt16)? {
    var received: (bytes: [UInt8], from: UInt16)?
    for _ in 0..<100 where received == nil {
      from.send(bytes, to: listen)
      received = to.receive(timeout: .milliseconds(100))
    }
    return received
  }

  /// `warren status --json` of the daemon at `socket`, or nil while it does not answer.
  func statusReport(_ socket: String) -> StatusReport? {
    guard let result = try? runWarren(["status", "--json", "--socket", socket]), result.status == 0 else { return nil }
    return try? ControlCoding.decode(StatusReport.self, from: Array(result.stdout.utf8))
  }

  /// Polls the daemon at `socket` until its peer `name` is connected, up to `limit`.
  func waitConnected(_ socket: String, peer name: String, within limit: Duration = .seconds(15)) async throws -> PeerReport {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
      if let peer = statusReport(socket)?.peers.first(where: { $0.name == name }), peer.isConnected { return peer }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw ControlFailure("\(name) did not connect within \(limit) (socket \(socket))")
  }
}

extension PeerReport {
  var isConnected: Bool { ["connected", "completed"].contains(state) && path != nil }
}

import Foundation
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenTestSupport

/// Whether the tests that run many `warren` processes at once (restarts and shutdowns under load,
/// replayed signaling with a datagram stream) are on: `WARREN_PROCESS_TESTS=1`, which `.ci/run`
/// sets when it runs them in a stage of their own. They need the machine to themselves: next to
/// the rest of the suite, two cores are not enough for their zero-loss and timing claims, and
/// their load makes other tests' timeouts fire.
let processTestsEnabled = ProcessInfo.processInfo.environment["WARREN_PROCESS_TESTS"] == "1"

/// Tests that run `warren` processes on loopback: start them, write their configuration, play
/// the application, and ask a daemon for its status the way a script would.
protocol WarrenProcessTesting {}

extension WarrenProcessTesting {
  /// Starts `warren` with `arguments`; its standard error goes to `stderr` (a file) when given.
  func start(_ arguments: [String], stderr: String? = nil) throws -> Process {
    let process = Process()
    process.executableURL = try warrenExecutable()
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    if let stderr {
      _ = FileManager.default.createFile(atPath: stderr, contents: nil)
      process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
    } else {
      process.standardError = FileHandle.nullDevice
    }
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
  func sendUntilReceived(_ bytes: [UInt8], from: UDPSocket, via listen: UInt16, to: UDPSocket) async -> (bytes: [UInt8], from: UInt16)? {
    for _ in 0..<100 {
      from.send(bytes, to: listen)
      if let received = try? await offThePool({ to.receive(timeout: .milliseconds(100)) }) { return received }
    }
    return nil
  }

  /// Whether `process` exited within `limit`, polled without blocking a thread (and bounded: a
  /// crashing process can spend seconds in its backtracer).
  func waitForExit(_ process: Process, within limit: Duration) async throws -> Bool {
    try await eventually(within: limit, every: .milliseconds(5)) { !process.isRunning }
  }
}

import Foundation
import Synchronization

/// A program from outside the project (kubectl, the Python client) run by a test, its output
/// collected as it comes; killed when the test no longer needs it.
final class ExternalProcess: Sendable {
  /// Shared with the pipes' handlers.
  private final class Collected: Sendable {
    let output = Mutex(Data())
    let errors = Mutex(Data())
    let exit = Mutex<Int32?>(nil)
  }

  private let process: Process
  private let collected = Collected()

  init(_ executable: String, _ arguments: [String]) throws {
    process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let collected = self.collected
    out.fileHandleForReading.readabilityHandler = { handle in
      let data = handle.availableData
      collected.output.withLock { $0.append(data) }
    }
    err.fileHandleForReading.readabilityHandler = { handle in
      let data = handle.availableData
      collected.errors.withLock { $0.append(data) }
    }
    process.terminationHandler = { process in collected.exit.withLock { $0 = process.terminationStatus } }
    try process.run()
  }

  var standardOutput: String { String(decoding: collected.output.withLock { $0 }, as: UTF8.self) }
  var standardError: String { String(decoding: collected.errors.withLock { $0 }, as: UTF8.self) }
  var lines: [String] { standardOutput.split(separator: "\n").map(String.init) }
  var status: Int32? { collected.exit.withLock { $0 } }

  /// Waits for the program to end and returns its status.
  @discardableResult
  func wait() async throws -> Int32 {
    while true {
      if let status {
        try await Task.sleep(for: .milliseconds(20))  // the last output may still be in the pipe
        return status
      }
      try await Task.sleep(for: .milliseconds(10))
    }
  }

  /// Waits until the program has printed `count` lines (or ended).
  func waitForLines(_ count: Int) async throws {
    while lines.count < count && status == nil { try await Task.sleep(for: .milliseconds(10)) }
  }

  func kill() { if process.isRunning { process.terminate() } }

  /// Runs a program to its end.
  static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
    let process = try ExternalProcess(executable, arguments)
    let status = try await process.wait()
    return (status, process.standardOutput, process.standardError)
  }
}

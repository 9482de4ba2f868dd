import WarrenPrimitives
import Foundation

/// A program from outside the project (kubectl, the Python client) run by a test, its output
/// collected as it comes; killed when the test no longer needs it. Waits end on the program's
/// own events (output, end of output, exit), not on timers.
public final class ExternalProcess: Sendable {
  private struct State {
    var output = Data()
    var errors = Data()
    var status: Int32?
    /// Standard output and error until each reaches its end.
    var openPipes = 2
    var waiters: [(condition: @Sendable (State) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

    var lines: [String] { String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init) }
    /// Exited, and everything it wrote has been read.
    var ended: Bool { status != nil && openPipes == 0 }
  }

  /// Shared with the pipes' and the process's handlers.
  private final class Shared: Sendable {
    let state = Locked(State())

    func update(_ change: (inout State) -> Void) {
      let ready = state.withLock { state in
        change(&state)
        let current = state
        let ready = state.waiters.filter { $0.condition(current) }
        state.waiters.removeAll { $0.condition(current) }
        return ready
      }
      for waiter in ready { waiter.continuation.resume() }
    }

    func wait(until condition: @escaping @Sendable (State) -> Bool) async {
      await withCheckedContinuation { continuation in
        let met = state.withLock { state in
          if condition(state) { return true }
          state.waiters.append((condition, continuation))
          return false
        }
        if met { continuation.resume() }
      }
    }
  }

  private let process: Process
  private let shared = Shared()

  public init(_ executable: String, _ arguments: [String]) throws {
    process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let shared = self.shared
    // A thread per pipe reads until the end of the output. (A readabilityHandler cleared at the
    // end of the output crashed libdispatch on Linux.)
    func collect(_ pipe: Pipe, into keyPath: any WritableKeyPath<State, Data> & Sendable) {
      let handle = pipe.fileHandleForReading
      Thread.detachNewThread {
        while case let data = handle.availableData, !data.isEmpty {
          shared.update { $0[keyPath: keyPath].append(data) }
        }
        shared.update { $0.openPipes -= 1 }
      }
    }
    collect(out, into: \.output)
    collect(err, into: \.errors)
    process.terminationHandler = { process in
      let status = process.terminationStatus
      shared.update { $0.status = status }
    }
    try process.run()
  }

  public var standardOutput: String { String(decoding: shared.state.withLock { $0.output }, as: UTF8.self) }
  public var standardError: String { String(decoding: shared.state.withLock { $0.errors }, as: UTF8.self) }
  public var lines: [String] { shared.state.withLock { $0.lines } }

  /// Waits for the program to end and for all its output, and returns its status.
  @discardableResult
  public func wait() async -> Int32 {
    await shared.wait { $0.ended }
    return shared.state.withLock { $0.status ?? -1 }
  }

  /// Waits until the program has printed `count` lines (or ended).
  public func waitForLines(_ count: Int) async {
    await shared.wait { $0.lines.count >= count || $0.ended }
  }

  public func kill() { if process.isRunning { process.terminate() } }

  /// Runs a program to its end.
  public static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
    let process = try ExternalProcess(executable, arguments)
    let status = await process.wait()
    return (status, process.standardOutput, process.standardError)
  }
}

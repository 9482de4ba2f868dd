import Foundation

/// Runs blocking work (a child process, a socket read with a timeout) on a thread of its own and
/// awaits its result. Tests that block the cooperative thread pool instead starve every test that
/// runs alongside them: timers fire late, RPCs time out, handshakes fail.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
  }
}

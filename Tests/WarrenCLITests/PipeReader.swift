import WarrenPrimitives
import Foundation

/// Reads a child's pipe to its end on a thread of its own, so that the child never blocks on a
/// full pipe (64 KiB on Linux) while the test reads its other pipe or does something else.
final class PipeReader: Sendable {
  private let data = Locked(Data())
  private let done = DispatchSemaphore(value: 0)

  init(_ handle: FileHandle) {
    Thread.detachNewThread { [self] in
      let all = handle.readDataToEndOfFile()
      data.withLock { $0 = all }
      done.signal()
    }
  }

  /// Everything read, once the pipe reached its end (the child exited or closed it).
  func collected() -> Data {
    done.wait()
    done.signal()
    return data.withLock { $0 }
  }

  /// Kills `process` if it still runs after `limit`, on a thread of its own (not a dispatch
  /// queue: on Linux the blocked test threads can hold every worker of the global queues, and a
  /// timer there would never fire). SIGKILL, because a child of the test process may start with
  /// SIGTERM ignored (seen here: `Process.terminate()` left `sleep` running). Call the returned
  /// function once the process has ended.
  static func watchdog(_ process: Process, limit: Duration) -> @Sendable () -> Void {
    let ended = DispatchSemaphore(value: 0)
    let milliseconds = Int(limit / .milliseconds(1))
    Thread.detachNewThread {
      if ended.wait(timeout: .now() + .milliseconds(milliseconds)) == .timedOut, process.isRunning {
        kill(process.processIdentifier, SIGKILL)
      }
    }
    return { ended.signal() }
  }
}

internal import Synchronization
internal import WarrenPrimitives

/// One key's Subscribe stream: the task that keeps it open, the signal that it was ready once,
/// and whether it is open right now.
final class SubscriptionStream: Sendable {
  let ready = ReadySignal()
  /// Open now: its marker arrived and it has not broken since.
  let live = LiveFlag()
  private let task: Task<Void, Never>

  init(maintain: @escaping @Sendable (ReadySignal, LiveFlag) async -> Void) {
    let (ready, live) = (self.ready, self.live)
    task = Task { await maintain(ready, live) }
  }

  func cancel() {
    task.cancel()
    ready.cancel()
  }

  func finished() async { await task.value }
}

/// A one-shot signal: ``wait()`` returns once ``signal()`` was called, and throws
/// `CancellationError` if the stream was cancelled first or the waiting task is cancelled.
final class ReadySignal: Sendable {
  /// Each wait's outcome, by waiter: true once signalled, false once cancelled.
  private let waits = PendingAnswers<UInt64, Bool>()
  private let lastWaiter = Atomic<UInt64>(0)

  func wait() async throws {
    let id = lastWaiter.add(1, ordering: .relaxed).newValue
    let signalled = await withTaskCancellationHandler {
      await waits.wait(for: id, busy: false) {
        // Cancelled before the wait was registered: the handler found nobody to end.
        if Task.isCancelled { waits.answer(id, with: false) }
      }
    } onCancel: {
      waits.answer(id, with: false)
    }
    if !signalled { throw CancellationError() }
  }

  func signal() { waits.answerAll(with: true) }

  func cancel() { waits.answerAll(with: false) }
}

/// Whether a stream is open right now, and a bounded wait until it is.
final class LiveFlag: Sendable {
  private let value = Atomic(false)
  /// Those waiting for the flag, by waiter: true once it is set, false when their time is up.
  private let waits = PendingAnswers<UInt64, Bool>()
  private let lastWaiter = Atomic<UInt64>(0)

  var isLive: Bool { value.load(ordering: .sequentiallyConsistent) }

  func set(_ live: Bool) {
    value.store(live, ordering: .sequentiallyConsistent)
    if live { waits.answerWaiting(with: true) }
  }

  /// Waits at most `timeout` on `clock` until the flag is set; returns whether it is.
  func wait(timeout: Duration, clock: any MonotonicClock) async -> Bool {
    if isLive { return true }
    let id = lastWaiter.add(1, ordering: .relaxed).newValue
    let live = await answerOrTimeout(within: timeout, on: clock, expire: { self.waits.answer(id, with: false) }) {
      await self.waits.wait(for: id, busy: false) {
        // Set before the wait was registered: `set` found nobody to tell.
        if self.isLive { self.waits.answer(id, with: true) }
      }
    }
    return live ?? false
  }
}

internal import Synchronization

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
  private enum State {
    case waiting([UInt64: CheckedContinuation<Void, any Error>], next: UInt64)
    case signalled
    case cancelled
  }

  private let state = Mutex(State.waiting([:], next: 0))

  func wait() async throws {
    let id: UInt64? = state.withLock { state in
      guard case .waiting(let waiters, let next) = state else { return nil }
      state = .waiting(waiters, next: next + 1)
      return next
    }
    guard let id else {
      if state.withLock({ if case .cancelled = $0 { true } else { false } }) { throw CancellationError() }
      return
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let result: Result<Void, any Error>? = state.withLock { state in
          switch state {
          case .waiting(var waiters, let next):
            waiters[id] = continuation
            state = .waiting(waiters, next: next)
            return nil
          case .signalled: return .success(())
          case .cancelled: return .failure(CancellationError())
          }
        }
        if let result { continuation.resume(with: result) }
      }
    } onCancel: {
      let waiter: CheckedContinuation<Void, any Error>? = state.withLock { state in
        guard case .waiting(var waiters, let next) = state else { return nil }
        let waiter = waiters.removeValue(forKey: id)
        state = .waiting(waiters, next: next)
        return waiter
      }
      waiter?.resume(throwing: CancellationError())
    }
  }

  func signal() { settle(.signalled) }

  func cancel() { settle(.cancelled) }

  private func settle(_ final: State) {
    let waiters: [CheckedContinuation<Void, any Error>] = state.withLock { state in
      guard case .waiting(let waiters, _) = state else { return [] }
      state = final
      return Array(waiters.values)
    }
    for waiter in waiters {
      if case .signalled = final { waiter.resume() } else { waiter.resume(throwing: CancellationError()) }
    }
  }
}

/// Whether a stream is open right now, and a bounded wait until it is.
final class LiveFlag: Sendable {
  private let value = Mutex(false)

  var isLive: Bool { value.withLock { $0 } }

  func set(_ live: Bool) { value.withLock { $0 = live } }

  /// Waits at most `timeout` until the flag is set; returns whether it is. (Polled: a stream is
  /// made again within tens of milliseconds, and only a publish during that time waits.)
  func wait(timeout: Duration) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !isLive {
      guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(5))) != nil else { return false }
    }
    return true
  }
}

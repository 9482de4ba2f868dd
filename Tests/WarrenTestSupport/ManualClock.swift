public import NIOCore
public import WarrenICENIO
internal import WarrenPrimitives

/// A clock that moves only when the test says so (``advance(by:)``), for running drivers with
/// real sockets in virtual time: sleepers wake and driver timers fire as the time passes them,
/// in deadline order.
public final class ManualClock: DriverClock {
  private enum Waiter {
    case sleeper(CheckedContinuation<Void, any Error>)
    case timer(any EventLoop, @Sendable () -> Void)
  }

  private struct State {
    var now: ContinuousClock.Instant
    var nextID: UInt64 = 0
    var waiting: [UInt64: (deadline: ContinuousClock.Instant, waiter: Waiter)] = [:]
    /// Sleepers cancelled before they were registered.
    var cancelled: Set<UInt64> = []
  }

  private let state: Locked<State>

  /// Starts at the continuous clock's now, so instants from both are comparable.
  public init(start: ContinuousClock.Instant = ContinuousClock.now) {
    state = Locked(State(now: start))
  }

  public var now: ContinuousClock.Instant { state.withLock { $0.now } }
  public var minimumResolution: Swift.Duration { .zero }

  public func sleep(until deadline: ContinuousClock.Instant, tolerance: Swift.Duration?) async throws {
    let id = state.withLock { state in
      state.nextID += 1
      return state.nextID
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        enum Now { case wait, wake, cancel }
        let now: Now = state.withLock { state in
          if state.cancelled.remove(id) != nil { return .cancel }
          if deadline <= state.now { return .wake }
          state.waiting[id] = (deadline, .sleeper(continuation))
          return .wait
        }
        switch now {
        case .wait: break
        case .wake: continuation.resume()
        case .cancel: continuation.resume(throwing: CancellationError())
        }
      }
    } onCancel: {
      let waiter: Waiter? = state.withLock { state in
        guard let entry = state.waiting.removeValue(forKey: id) else {
          state.cancelled.insert(id)
          return nil
        }
        return entry.waiter
      }
      if case .sleeper(let continuation) = waiter { continuation.resume(throwing: CancellationError()) }
    }
    // A sleeper that woke normally may leave a stale cancellation mark behind; drop it.
    _ = state.withLock { $0.cancelled.remove(id) }
  }

  public func schedule(at deadline: ContinuousClock.Instant, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void) -> DriverTimer {
    let id: UInt64? = state.withLock { state in
      guard deadline > state.now else { return nil }
      state.nextID += 1
      state.waiting[state.nextID] = (deadline, .timer(eventLoop, body))
      return state.nextID
    }
    guard let id else {
      eventLoop.execute(body)
      return DriverTimer {}
    }
    return DriverTimer { [self] in _ = state.withLock { $0.waiting.removeValue(forKey: id) } }
  }

  /// Moves the time on by `duration`, waking every sleeper and firing every timer it passes.
  public func advance(by duration: Swift.Duration) {
    let due: [Waiter] = state.withLock { state in
      state.now = state.now + duration
      let now = state.now
      let due = state.waiting.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }
      for (id, _) in due { state.waiting[id] = nil }
      return due.map(\.value.waiter)
    }
    for waiter in due {
      switch waiter {
      case .sleeper(let continuation): continuation.resume()
      case .timer(let eventLoop, let body): eventLoop.execute(body)
      }
    }
  }
}

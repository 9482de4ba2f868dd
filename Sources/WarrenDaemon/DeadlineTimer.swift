internal import WarrenPrimitives
internal import WarrenICENIO

/// Waits for a deadline that moves: ``run(deadline:fire:)`` sleeps until `deadline()` has passed,
/// calls `fire`, and looks again once ``deadlineMoved()`` says the deadline may have changed (an
/// owner that handles the timeout later, in its own loop, is not fired at again meanwhile); it
/// sleeps without end while there is no deadline. A state machine that says when it wants to be
/// woken (`pollTimeout`) is woken exactly then, and an idle one not at all.
final class DeadlineTimer: Sendable {
  private struct State {
    var moved = false
    var waiter: CheckedContinuation<Void, Never>?
  }

  private let clock: any DriverClock
  private let state = Locked(State())

  init(clock: any DriverClock) {
    self.clock = clock
  }

  /// The deadline may have changed (call after every input of the state machine).
  func deadlineMoved() {
    let waiter = state.withLock { state in
      state.moved = true
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume()
  }

  /// Runs until cancelled.
  func run(deadline: @escaping @Sendable () -> ContinuousClock.Instant?, fire: @escaping @Sendable () -> Void) async {
    while !Task.isCancelled {
      let due = deadline()
      if let due, clock.now >= due {
        fire()
        await waitForMove()
        continue
      }
      // Sleep until the deadline, or until it moves, whichever is first.
      await withTaskGroup(of: Void.self) { group in
        group.addTask { await self.waitForMove() }
        if let due { group.addTask { [clock] in try? await clock.sleep(until: due, tolerance: nil) } }
        await group.next()
        group.cancelAll()
      }
    }
  }

  private func waitForMove() async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let now: Bool = state.withLock { state in
          if state.moved || Task.isCancelled {
            state.moved = false
            return true
          }
          state.waiter = continuation
          return false
        }
        if now { continuation.resume() }
      }
    } onCancel: {
      let waiter = state.withLock { state in
        defer { state.waiter = nil }
        return state.waiter
      }
      waiter?.resume()
    }
  }
}

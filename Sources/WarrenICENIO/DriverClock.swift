public import NIOCore
public import WarrenPrimitives

/// The clock Warren's I/O drivers (``ICEDriver``, the daemon's peer links) run their timers on:
/// the continuous clock in production, a manual one in tests, so that a whole connection with real
/// sockets can run in virtual time. The pure state machines measure time in
/// `ContinuousClock.Instant`s, so a driver clock does too.
public protocol DriverClock: Clock, MonotonicClock where Instant == ContinuousClock.Instant, Duration == Swift.Duration {
  /// Runs `body` on `eventLoop` once the clock has reached `deadline`, unless cancelled first.
  func schedule(at deadline: Instant, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void) -> DriverTimer
}

/// A timer armed with ``DriverClock/schedule(at:on:_:)``.
public struct DriverTimer: Sendable {
  private let onCancel: @Sendable () -> Void

  public init(onCancel: @escaping @Sendable () -> Void) {
    self.onCancel = onCancel
  }

  /// The body will not run (unless it already did).
  public func cancel() {
    onCancel()
  }
}

extension ContinuousClock: DriverClock {
  /// An event loop task: the body runs on the loop without a thread hop.
  public func schedule(at deadline: Instant, on eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void) -> DriverTimer {
    let delay = max(deadline - now, .zero).components
    let nanoseconds = delay.seconds * 1_000_000_000 + delay.attoseconds / 1_000_000_000
    let task = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds), body)
    return DriverTimer { task.cancel() }
  }
}

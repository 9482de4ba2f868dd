/// The one clock type every Warren component that reads the time takes: the continuous clock in
/// production, a manual one in tests (WarrenTestSupport's `ManualClock`), so that the time a
/// component sees is the time its test says. Instants are `ContinuousClock.Instant`s, as the pure
/// cores' inputs are. Drivers that also arm event-loop timers take its refinement, `DriverClock`
/// (WarrenICENIO). The wall clock (`WallClock`) is for what leaves the process: timestamps on the
/// wire, proofs, the Kubernetes API's creation times.
public protocol MonotonicClock: Sendable {
  var now: ContinuousClock.Instant { get }
  func sleep(until deadline: ContinuousClock.Instant, tolerance: Duration?) async throws
}

extension ContinuousClock: MonotonicClock {}

/// The last line of defence against restart storms: however a session comes to restart (a logic
/// error included), restarts in quick succession are spaced out with exponential back-off, so a
/// session can never flood the signaling server.
///
/// The first `configuration.restartBurst` restarts of a streak run at once; each later one waits
/// `restartDelayInitial`, doubling up to `restartDelayMax`, after the one before. A streak ends
/// when `restartStreakReset` passes without a restart.
struct RestartPacer: Sendable {
  typealias Instant = ContinuousClock.Instant

  private(set) var streak = 0
  private(set) var last: Instant?

  /// The earliest time the next restart may run.
  func earliest(after now: Instant, configuration: SessionConfiguration) -> Instant {
    guard let last, now - last < configuration.restartStreakReset, streak >= configuration.restartBurst else { return now }
    let doublings = min(streak - configuration.restartBurst, 16)
    let delay = min(configuration.restartDelayInitial * (1 << doublings), configuration.restartDelayMax)
    return max(now, last + delay)
  }

  /// Records a restart that ran at `now`.
  mutating func record(now: Instant, configuration: SessionConfiguration) {
    if let last, now - last >= configuration.restartStreakReset { streak = 0 }
    streak += 1
    last = now
  }
}

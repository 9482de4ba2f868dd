internal import WarrenPrimitives

/// Exponential back-off with jitter for re-establishing a broken stream (a gRPC subscription, a
/// Kubernetes watch). It never gives up: a server that comes back is used again.
public struct ReconnectBackoff: Sendable {
  public var initial: Duration
  public var multiplier: Double
  public var maximum: Duration
  /// ± this fraction of the delay, so that many clients do not reconnect in step.
  public var jitter: Double

  public init(
    initial: Duration = .milliseconds(100), multiplier: Double = 2, maximum: Duration = .seconds(10),
    jitter: Double = 0.2
  ) {
    self.initial = initial
    self.multiplier = multiplier
    self.maximum = maximum
    self.jitter = jitter
  }

  /// The wait before the next attempt after `failures` consecutive failures (0 after a stream that
  /// worked and ended: reconnect after the initial delay).
  public func delay(
    afterFailures failures: Int, random: inout some RandomNumberGenerator
  ) -> Duration {
    let cap = seconds(maximum)
    var base = min(seconds(initial), cap)
    for _ in 1..<max(1, failures) where base < cap { base = min(base * multiplier, cap) }
    return Duration.nanoseconds(Int64(base * 1e9)).jittered(by: min(max(jitter, 0), 1), using: &random)
  }

  public func delay(afterFailures failures: Int) -> Duration {
    var random = SystemRandomNumberGenerator()
    return delay(afterFailures: failures, random: &random)
  }

  private func seconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) + Double(attoseconds) / 1e18
  }
}

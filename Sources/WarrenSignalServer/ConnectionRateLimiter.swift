internal import WarrenPrimitives

/// Token buckets per client connection (gRPC's remote peer, `ipv4:ADDRESS:PORT`): each call takes
/// a token; a connection may make `burst` calls at once and `rate` per second after that. Buckets
/// of connections idle for a minute are forgotten when the map grows, so it stays bounded by the
/// connections active in the last minute.
public final class ConnectionRateLimiter: Sendable {
  public let rate: Double
  public let burst: Double
  private let state = Locked(State())

  private struct State {
    var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]
    var sweepAt = 1024
  }

  /// - Parameters:
  ///   - rate: calls per second per connection; 0 or less is unlimited.
  ///   - burst: calls a connection may make at once.
  public init(rate: Double, burst: Double) {
    self.rate = rate
    self.burst = max(1, burst)
  }

  /// Takes one token of `connection`'s bucket; `false` if it has none left.
  public func allow(_ connection: String, now: ContinuousClock.Instant = .now) -> Bool {
    guard rate > 0 else { return true }
    return state.withLock { state in
      var bucket = state.buckets[connection] ?? (burst, now)
      let elapsed = now - bucket.at
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      bucket = (min(burst, bucket.tokens + seconds * rate), now)
      let allowed = bucket.tokens >= 1
      if allowed { bucket.tokens -= 1 }
      state.buckets[connection] = bucket
      if state.buckets.count >= state.sweepAt {
        state.buckets = state.buckets.filter { now - $0.value.at < .seconds(60) }
        state.sweepAt = max(1024, state.buckets.count * 2)
      }
      return allowed
    }
  }
}

extension Duration {
  /// This duration scaled by a factor drawn uniformly from `1 - spread ... 1 + spread`: the one
  /// jitter of Warren's timers (consent checks ±20 %, RFC 7675 §5.1; credentials ±50 %, session.md;
  /// announcements; reconnects). Drawn from `random`, so a seeded generator replays it exactly.
  public func jittered(by spread: Double, using random: inout some RandomNumberGenerator) -> Duration {
    // 53 random bits: every double in [0, 1) that a uniform draw can give.
    let unit = Double(random.next() >> 11) / Double(UInt64(1) << 53)
    return self * (1 + spread * (2 * unit - 1))
  }
}

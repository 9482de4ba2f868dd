internal import NIOCore

/// A token bucket of stream resets for one connection: `burst` at once, `perSecond` regained each
/// second. Two numbers and a time, where a window of recent resets would keep every one.
struct ResetBudget {
  let burst: Int
  let perSecond: Int
  private var tokens: Double
  private var refilled: NIODeadline?

  init(burst: Int, perSecond: Int) {
    self.burst = burst
    self.perSecond = perSecond
    tokens = Double(burst)
  }

  /// Spends one reset; false when none is left.
  mutating func spend(now: NIODeadline) -> Bool {
    if let refilled {
      let seconds = Double((now - refilled).nanoseconds) / 1e9
      tokens = min(Double(burst), tokens + seconds * Double(perSecond))
    }
    refilled = now
    guard tokens >= 1 else { return false }
    tokens -= 1
    return true
  }
}

/// The readings of `read` every `interval` for `window` of real time (the first one at once):
/// for tests that assert something stays true while time passes — a negative result needs a
/// window, and a reading at each step catches what one reading at the end would miss.
public func observe<Value>(
  for window: Duration, every interval: Duration = .milliseconds(100), _ read: () async throws -> Value
) async throws -> [Value] {
  let end = ContinuousClock.now + window
  var readings = [try await read()]
  while ContinuousClock.now < end {
    try await Task.sleep(for: min(interval, end - ContinuousClock.now))
    readings.append(try await read())
  }
  return readings
}

/// The value of `read` once it has stayed the same for `quiet`, looking every `interval`, up to
/// `limit` of real time times ``TestTime/scale`` (then the latest reading, and `settled` false):
/// for waiting until something in flight has finished (the last trickled candidates) instead of
/// a fixed sleep.
public func settledValue<Value: Equatable>(
  quiet: Duration = .milliseconds(500), within limit: Duration = .seconds(10), every interval: Duration = .milliseconds(50),
  _ read: () async throws -> Value
) async throws -> (value: Value, settled: Bool) {
  let deadline = ContinuousClock.now + limit * TestTime.scale
  var value = try await read()
  var since = ContinuousClock.now
  while ContinuousClock.now < deadline {
    try await Task.sleep(for: interval)
    let next = try await read()
    if next != value {
      (value, since) = (next, ContinuousClock.now)
    } else if ContinuousClock.now - since >= quiet {
      return (value, true)
    }
  }
  return (value, false)
}

/// Waits, up to `limit` of real time (times ``TestTime/scale``), for `condition`, looking again
/// every `interval`; for tests over real sockets and processes only (protocol tests run in
/// virtual time and never wait).
public func eventually(
  within limit: Duration = .seconds(10), every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async throws -> Bool {
  try await firstValue(within: limit, every: interval) { try await condition() ? true : nil } ?? false
}

/// The first value `produce` gives (not nil), looking again every `interval`, up to `limit` of
/// real time (times ``TestTime/scale``); nil after that. For tests over real sockets and
/// processes only.
public func firstValue<Value>(
  within limit: Duration = .seconds(10), every interval: Duration = .milliseconds(20), _ produce: () async throws -> Value?
) async throws -> Value? {
  let deadline = ContinuousClock.now + limit * TestTime.scale
  while ContinuousClock.now < deadline {
    if let value = try await produce() { return value }
    try await Task.sleep(for: interval)
  }
  return try await produce()
}

/// Waits, up to `limit` of real time, for `condition`, looking again every 20 ms; for tests over
/// real sockets and processes only (protocol tests run in virtual time and never wait).
public func eventually(
  within limit: Duration = .seconds(10), _ condition: @Sendable () async throws -> Bool
) async throws -> Bool {
  let deadline = ContinuousClock.now + limit
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try await Task.sleep(for: .milliseconds(20))
  }
  return try await condition()
}

internal import WarrenSignaling

/// Which replica of a clustered signaling server (`grpc://a:8080,b:8080,c:8080`) a client uses,
/// and when it moves on: the pure policy behind ``GRPCTransport``'s failover (docs/cluster.md).
/// It reads no clock and takes its randomness as an argument, so it is tested in virtual time.
///
/// - A client starts on a replica chosen at random, so that clients spread over the list.
/// - It stays on its replica while that replica works.
/// - When an attempt on the current replica fails, the next replica of the list (wrapping
///   around) becomes current and is tried at once: a replica that is upgraded or lost costs no
///   back-off. The replica that failed comes last.
/// - Once every replica has failed in a row (a *round*), the client waits before the next one,
///   with the backend's ``ReconnectBackoff`` growing with each failed round. With one replica
///   every failure is a round: the back-off a single server always had.
/// - Every stream of the client (one per key) and every publish share one policy: a failure on a
///   replica the client has already left moves nothing and waits for the same round's back-off,
///   so a client with many keys does not cycle faster than one with a single key.
struct ReplicaFailover: Sendable {
  typealias Instant = ContinuousClock.Instant

  /// Where and when to try next, and how many attempts in a row have failed (for logging: the
  /// first failure after a success is worth a warning, the ones after it are not).
  struct Next: Equatable, Sendable {
    var replica: Int
    var at: Instant
    var failures: Int
  }

  let count: Int
  /// The replica that new streams and publishes use.
  private(set) var current: Int
  private var failures = 0
  private var rounds = 0
  private var notBefore: Instant?

  init(replicas count: Int, random: inout some RandomNumberGenerator) {
    precondition(count > 0, "a replica list is never empty")
    self.count = count
    current = Int.random(in: 0..<count, using: &random)
  }

  /// An attempt on `replica` worked (a subscription saw its marker, a publish was answered).
  mutating func succeeded(on replica: Int) {
    guard replica == current else { return }
    failures = 0
    rounds = 0
    notBefore = nil
  }

  /// An attempt on `replica` failed at `now`: where and when the next attempt goes.
  mutating func failed(
    on replica: Int, at now: Instant, backoff: ReconnectBackoff, random: inout some RandomNumberGenerator
  ) -> Next {
    if replica == current {
      failures += 1
      current = (current + 1) % count
      if failures % count == 0 {
        rounds += 1
        notBefore = now + backoff.delay(afterFailures: rounds, random: &random)
      }
    }
    return Next(replica: current, at: max(now, notBefore ?? now), failures: failures)
  }
}

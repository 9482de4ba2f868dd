internal import WarrenSignaling

/// Which replica of a clustered signaling server (`grpc://a:8080,b:8080,c:8080`) a client uses,
/// and when it moves on: the pure policy behind ``GRPCTransport``'s failover (docs/cluster.md).
/// It reads no clock and takes its randomness as an argument, so it is tested in virtual time.
///
/// - A client starts on a replica chosen at random, so that clients spread over the list.
/// - It stays on its replica while that replica works.
/// - When an attempt on the current replica fails after it had worked, the client moves to one of
///   the other replicas chosen at random, at a random moment within ``handoverSpread``: the
///   clients of a replica that is lost (`kill -9`, a node gone) spread over the survivors, and
///   their subscriptions reach them over that window instead of all at once.
/// - While attempts keep failing, the next untried replica (at random) is tried at once; once
///   every replica has failed in a row (a *round*), the client waits before the next one, with the
///   backend's ``ReconnectBackoff`` growing with each failed round. With one replica every
///   failure is a round: the back-off a single server always had.
/// - Every stream of the client (one per key) and every publish share one policy: a failure on a
///   replica the client has already left moves nothing and waits for the same move or round's
///   back-off, so a client with many keys does not cycle faster than one with a single key.
public struct ReplicaFailover: Sendable {
  typealias Instant = ContinuousClock.Instant

  /// The window over which a lost replica's clients move (the default: 2 s).
  public static let defaultHandoverSpread: Duration = .seconds(2)

  /// Where and when to try next, and how many attempts in a row have failed (for logging: the
  /// first failure after a success is worth a warning, the ones after it are not).
  struct Next: Equatable, Sendable {
    var replica: Int
    var at: Instant
    var failures: Int
  }

  let count: Int
  let handoverSpread: Duration
  /// The replica that new streams and publishes use.
  private(set) var current: Int
  private var failures = 0
  private var rounds = 0
  /// The replicas that failed since the last success or the last round.
  private var failedInRound: Set<Int> = []
  private var notBefore: Instant?

  init(replicas count: Int, handoverSpread: Duration = Self.defaultHandoverSpread, random: inout some RandomNumberGenerator) {
    precondition(count > 0, "a replica list is never empty")
    self.count = count
    self.handoverSpread = handoverSpread
    current = Int.random(in: 0..<count, using: &random)
  }

  /// An attempt on `replica` worked (a subscription saw its marker, a publish was answered).
  mutating func succeeded(on replica: Int) {
    guard replica == current else { return }
    failures = 0
    rounds = 0
    failedInRound = []
    notBefore = nil
  }

  /// An attempt on `replica` failed at `now`: where and when the next attempt goes.
  mutating func failed(
    on replica: Int, at now: Instant, backoff: ReconnectBackoff, random: inout some RandomNumberGenerator
  ) -> Next {
    if replica == current {
      failures += 1
      failedInRound.insert(current)
      if failedInRound.count == count {
        // Every replica failed in a row: wait, then start the next round on another replica.
        rounds += 1
        failedInRound = []
        notBefore = now + backoff.delay(afterFailures: rounds, random: &random)
        if count > 1 { current = randomReplica(except: [current], random: &random) }
      } else {
        current = randomReplica(except: failedInRound, random: &random)
        if failures == 1 {
          // The replica had worked: its other clients are moving too.
          notBefore = now + handoverSpread * Double.random(in: 0..<1, using: &random)
        }
      }
    }
    return Next(replica: current, at: max(now, notBefore ?? now), failures: failures)
  }

  private func randomReplica(except excluded: Set<Int>, random: inout some RandomNumberGenerator) -> Int {
    let candidates = (0..<count).filter { !excluded.contains($0) }
    return candidates.randomElement(using: &random) ?? current
  }
}

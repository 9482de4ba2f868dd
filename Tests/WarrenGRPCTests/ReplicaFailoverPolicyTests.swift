import Testing
import WarrenPrimitives
import WarrenSignaling

@testable import WarrenGRPC

/// The failover policy of `grpc://a,b,c` in virtual time: which replica a client's streams are made
/// on, and when (docs/cluster.md).
@Suite("Replica failover order, in virtual time")
struct ReplicaFailoverPolicyTests {
  /// No jitter, so that every attempt's time is exact.
  static let backoff = ReconnectBackoff(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(5), jitter: 0)

  @Test("clients start on a replica chosen at random: 3,000 clients spread evenly over 3 replicas")
  func spread() {
    var counts = [0, 0, 0]
    for seed in 0..<3000 {
      var random = SplitMix64(seed: UInt64(seed))
      counts[ReplicaFailover(replicas: 3, random: &random).current] += 1
    }
    #expect(counts.allSatisfy { (900...1100).contains($0) }, "\(counts)")
  }

  @Test("a lost replica hands over to another one at once (no spread); a working replica is kept")
  func handover() {
    // Learn where the client goes after its first replica is lost, then lose that one too.
    var probe = FailoverSimulation(replicas: 3, seed: 7)
    let c = probe.start
    probe.replicaDown(c, from: .seconds(10))
    let second = probe.run(streams: 1, until: .seconds(60))[0][1].replica
    var simulation = FailoverSimulation(replicas: 3, seed: 7)
    simulation.replicaDown(c, from: .seconds(10))
    simulation.replicaDown(second, from: .seconds(20))
    let third = 3 - c - second
    let attempts = simulation.run(streams: 1, until: .seconds(60))
    #expect(second != c)
    #expect(
      attempts[0] == [
        Attempt(replica: c, at: .zero, worked: true),
        Attempt(replica: second, at: .seconds(10), worked: true),
        Attempt(replica: third, at: .seconds(20), worked: true),
      ])
  }

  @Test("3,000 clients of a lost replica spread over the other two, and over the handover window")
  func spreadOnLoss() {
    var moved = [0, 0, 0]
    var times: [Duration] = []
    for seed in 0..<3000 {
      var simulation = FailoverSimulation(replicas: 3, seed: UInt64(seed), handoverSpread: .seconds(2))
      guard simulation.start == 0 else { continue }
      simulation.replicaDown(0, from: .seconds(10))
      let attempts = simulation.run(streams: 1, until: .seconds(60))[0]
      #expect(attempts.count == 2 && attempts[1].worked)
      moved[attempts[1].replica] += 1
      times.append(attempts[1].at - .seconds(10))
    }
    // About a third of the clients started on replica 0; half of them went to each survivor.
    #expect(moved[0] == 0)
    #expect(moved[1] + moved[2] > 800)
    #expect(abs(moved[1] - moved[2]) < (moved[1] + moved[2]) / 8, "\(moved)")
    // Their moves fill the 2 s window evenly: a quarter of them in each half second.
    #expect(times.allSatisfy { $0 >= .zero && $0 < .seconds(2) })
    for quarter in 0..<4 {
      let from = Duration.milliseconds(500 * quarter)
      let inQuarter = times.filter { $0 >= from && $0 < from + .milliseconds(500) }.count
      #expect(abs(inQuarter - times.count / 4) < times.count / 12, "quarter \(quarter): \(inQuarter) of \(times.count)")
    }
  }

  @Test("every replica failing in a row waits with back-off, longer each round; the first one back is used, and the next loss moves at once again")
  func rounds() {
    var simulation = FailoverSimulation(replicas: 3, seed: 11)
    let c = simulation.start
    for replica in 0..<3 { simulation.replicaDown(replica, from: .seconds(10), to: .milliseconds(10_500)) }
    simulation.replicaDown(c, from: .seconds(20))
    let attempts = simulation.run(streams: 1, until: .seconds(60))[0]
    // Round 1: the stream breaks at 10 s; the other two are refused at once. Then each round
    // starts 100, 200, 400 ms after the last one ended, and tries every replica once.
    let times: [Duration] = [
      .zero, .milliseconds(10_000), .milliseconds(10_001), .milliseconds(10_102), .milliseconds(10_103),
      .milliseconds(10_104), .milliseconds(10_305), .milliseconds(10_306), .milliseconds(10_307), .milliseconds(10_708),
    ]
    #expect(attempts.prefix(10).map(\.at) == times)
    #expect(attempts.prefix(10).map(\.worked) == [true] + Array(repeating: false, count: 8) + [true])
    #expect(attempts[0].replica == c)
    #expect(Set(attempts[0..<3].map(\.replica)) == [0, 1, 2])
    #expect(Set(attempts[3..<6].map(\.replica)) == [0, 1, 2])
    #expect(Set(attempts[6..<9].map(\.replica)) == [0, 1, 2])
    // No replica is tried twice in a row across a round's end.
    for i in 1..<10 { #expect(attempts[i].replica != attempts[i - 1].replica) }
    // A success forgot the rounds: when the replica it settled on is lost, it moves at once.
    if attempts[9].replica == c {
      #expect(attempts.count == 11 && attempts[10].at == .seconds(20) && attempts[10].worked)
    } else {
      #expect(attempts.count == 10)
    }
  }

  @Test("many streams (one per key) share the policy: each makes the attempts a single stream makes, at the same times")
  func manyStreams() {
    var single = FailoverSimulation(replicas: 3, seed: 5)
    var many = FailoverSimulation(replicas: 3, seed: 5)
    for replica in 0..<3 {
      single.replicaDown(replica, from: .seconds(10), to: .seconds(30))
      many.replicaDown(replica, from: .seconds(10), to: .seconds(30))
    }
    let one = single.run(streams: 1, until: .seconds(60))[0]
    let five = many.run(streams: 5, until: .seconds(60))
    #expect(one.count > 10 && one.last?.worked == true && one.last!.at >= .seconds(30))
    for stream in five { #expect(stream == one) }
  }

  @Test("one replica: every failure is a round, so a single server gets the back-off it always had")
  func singleServer() {
    var simulation = FailoverSimulation(replicas: 1, seed: 3)
    simulation.replicaDown(0, from: .zero, to: .seconds(1))
    let attempts = simulation.run(streams: 1, until: .seconds(10))
    #expect(
      attempts[0] == [
        Attempt(replica: 0, at: .zero, worked: false),
        Attempt(replica: 0, at: .milliseconds(101), worked: false),
        Attempt(replica: 0, at: .milliseconds(302), worked: false),
        Attempt(replica: 0, at: .milliseconds(703), worked: false),
        Attempt(replica: 0, at: .milliseconds(1504), worked: true),
      ])
  }
}

/// One attempt of a stream: on which replica, when (from the simulation's start), and whether it
/// worked.
struct Attempt: Equatable, CustomStringConvertible {
  var replica: Int
  var at: Duration
  var worked: Bool

  var description: String { "\(replica)@\(at)\(worked ? "" : "✗")" }
}

/// Streams of one client against replicas that are down during given stretches of virtual time,
/// driven by ``ReplicaFailover`` alone: an attempt on a replica that is up works and lasts until
/// the replica goes down; one on a replica that is down is refused 1 ms later.
struct FailoverSimulation {
  static let refusal: Duration = .milliseconds(1)

  private var failover: ReplicaFailover
  private var random: SplitMix64
  private var down: [[Range<Duration>]]
  private let origin = ContinuousClock.now

  /// `handoverSpread` zero (unless given) makes every attempt's time exact.
  init(replicas: Int, seed: UInt64, handoverSpread: Duration = .zero) {
    random = SplitMix64(seed: seed)
    failover = ReplicaFailover(replicas: replicas, handoverSpread: handoverSpread, random: &random)
    down = Array(repeating: [], count: replicas)
  }

  var start: Int { failover.current }

  mutating func replicaDown(_ replica: Int, from: Duration, to: Duration = .seconds(1_000_000)) {
    down[replica].append(from..<to)
  }

  /// Every stream's attempts until `horizon`; streams are handled in order at equal times.
  mutating func run(streams: Int, until horizon: Duration) -> [[Attempt]] {
    var attempts = Array(repeating: [Attempt](), count: streams)
    // Each stream's next event: an attempt on a replica, or the failure of the one it is on.
    enum Event { case attempt(Int), failure(Int) }
    var pending: [(at: Duration, event: Event)] = Array(repeating: (.zero, .attempt(failover.current)), count: streams)
    while let stream = pending.indices.min(by: { pending[$0].at < pending[$1].at }), pending[stream].at < horizon {
      let now = pending[stream].at
      switch pending[stream].event {
      case .attempt(let replica):
        if down[replica].contains(where: { $0.contains(now) }) {
          attempts[stream].append(Attempt(replica: replica, at: now, worked: false))
          pending[stream] = (now + Self.refusal, .failure(replica))
        } else {
          attempts[stream].append(Attempt(replica: replica, at: now, worked: true))
          failover.succeeded(on: replica)
          let ends = down[replica].map(\.lowerBound).filter { $0 > now }.min() ?? .seconds(1_000_000)
          pending[stream] = (ends, .failure(replica))
        }
      case .failure(let replica):
        let next = failover.failed(
          on: replica, at: origin + now, backoff: ReplicaFailoverPolicyTests.backoff, random: &random)
        pending[stream] = (next.at - origin, .attempt(next.replica))
      }
    }
    return attempts
  }
}

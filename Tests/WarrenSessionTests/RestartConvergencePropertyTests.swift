import Testing
import WarrenSession
import WarrenSimulation

/// The property of docs/session.md, "Restarts that converge", over 1,000 random seeds: two
/// sessions with real agents on a simulated network, signaling through a channel that delays,
/// duplicates, reorders and re-injects any earlier message, and 1–3 restarts triggered at random
/// (2–10 s in) on either side (an agent failure, or a daemon restart that forgets everything). In every run:
///
/// - both sessions end Connected, with each other's current credentials, and stay so while the
///   channel keeps replaying old messages;
/// - no side restarts on its own unless a trigger asked it to (local restarts = agent failures);
/// - each trigger costs the other side at most one restart;
/// - a restarted daemon that took a stale copy of the peer's credentials first catches up by
///   restarting its own agent, never the peer's;
/// - in total at most 3 restarts per trigger (the trigger, the peer's answer, one catch-up).
@Suite("Session restarts converge: a property test in virtual time")
struct RestartConvergencePropertyTests {
  struct Outcome {
    var failures: [String] = []
    var restarts: [Int] = []
    var catchUps = 0
    var dropped = 0
    var reconnect: [Duration] = []
  }

  /// More restarts than this in one run is a storm (3 triggers may cost at most 9).
  static let stormThreshold = 30

  // One batch at a time: the test keeps one core busy for seconds, and timing-sensitive
  // integration tests run next to it.
  @Test("1,000 seeds of adversarial signaling and random restarts all converge", .serialized, arguments: 0..<10)
  func converge(batch: Int) {
    var outcome = Outcome()
    for seed in UInt64(batch * 100)..<UInt64(batch * 100 + 100) { run(seed: seed, into: &outcome) }
    let sorted = outcome.reconnect.sorted()
    let reconnect = sorted.isEmpty ? "-" : "p50 \(sorted[sorted.count / 2]), max \(sorted.last!)"
    print(
      "seeds \(batch * 100)–\(batch * 100 + 99): \(outcome.restarts.count - outcome.failures.count) of \(outcome.restarts.count) converged; restarts per run ≤ \(outcome.restarts.max() ?? 0), "
        + "catch-up restarts \(outcome.catchUps), messages dropped \(outcome.dropped), reconnected after the last trigger in "
        + reconnect)
    #expect(outcome.failures.isEmpty, "\(outcome.failures.count) of 100 seeds failed; first: \(outcome.failures.prefix(3))")
  }

  func run(seed: UInt64, into outcome: inout Outcome) {
    let harness = AdversarialSignaling(seed: seed) { AdversarialSignaling.randomTriggers(seed: seed, start: $0) }
    let network = harness.network
    var problems: [String] = []
    // A storm ends the run at once (and would take the simulator ages to play out).
    let storm = { (_: SimulatedNetwork) in harness.totalRestarts > Self.stormThreshold }
    network.run(for: harness.lastTrigger! - network.now, until: storm)
    let connected = network.run(for: .seconds(30)) { harness.bothConnected && harness.credentialsAgree || storm($0) }
    if harness.totalRestarts > Self.stormThreshold {
      outcome.failures.append("seed \(seed): a restart storm, \(harness.totalRestarts) restarts by \(network.now - network.start)")
      outcome.restarts.append(harness.totalRestarts)
      return
    }
    let reconnectedAt = network.now
    outcome.reconnect.append(reconnectedAt - harness.lastTrigger!)
    if !connected { problems.append("not connected 30 s after the last trigger") }
    let settled = harness.finalTallies
    network.run(for: .seconds(8), until: storm)
    if !(harness.bothConnected && harness.credentialsAgree) { problems.append("did not stay connected") }
    let tallies = harness.finalTallies
    if tallies.map(\.restarts) != settled.map(\.restarts) { problems.append("restarted while replays went on: \(settled.map(\.restarts)) → \(tallies.map(\.restarts))") }

    let triggers = harness.effective
    for side in 0..<2 {
      let failures = triggers.filter { $0.side == side && $0.kind == .agentFailure }.count
      let local = tallies[side].restarts.filter { $0.key != .peerRestarted }.values.reduce(0, +)
      if local != failures { problems.append("side \(side): \(local) local restarts for \(failures) agent failures") }
      for (trigger, count) in tallies[side].peerRestartsByTrigger where count > 1 || trigger < 0 {
        problems.append("side \(side): \(count) restarts for trigger \(trigger)")
      }
    }
    let total = tallies.map { $0.restarts.values.reduce(0, +) }.reduce(0, +)
    if total > 3 * triggers.count { problems.append("\(total) restarts for \(triggers.count) triggers") }
    outcome.restarts.append(total)
    outcome.catchUps += tallies.map(\.catchUpRestarts).reduce(0, +)
    outcome.dropped += tallies.map(\.dropped).reduce(0, +)
    if !problems.isEmpty {
      let described = harness.triggers.map { "\($0.kind)@\($0.side)+\($0.at - network.start)" }
      outcome.failures.append("seed \(seed) \(described): \(problems.joined(separator: "; "))")
    }
  }
}

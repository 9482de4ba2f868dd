import Testing
import WarrenICE
import WarrenSimulation
import WarrenPrimitives

/// Sends an application datagram from each host every `interval` (a ping through the tunnel),
/// and records when each one arrived.
final class Traffic: SimulationCompanion {
  let interval: Duration
  var senders: [Int]
  var next: SimulatedNetwork.Instant
  var sent = [0, 0]
  /// Arrival times at each host, in virtual time.
  var arrivals: [[SimulatedNetwork.Instant]] = [[], []]
  private var seen = [0, 0]

  init(_ network: SimulatedNetwork, every interval: Duration = .milliseconds(20), from senders: [Int] = [0, 1]) {
    self.interval = interval
    self.senders = senders
    next = network.now
  }

  func nextDeadline() -> SimulatedNetwork.Instant? { senders.isEmpty ? nil : next }

  func step(_ network: SimulatedNetwork) {
    for index in 0..<2 where network.hosts[index].received.count > seen[index] {
      arrivals[index] += Array(repeating: network.now, count: network.hosts[index].received.count - seen[index])
      seen[index] = network.hosts[index].received.count
    }
    guard !senders.isEmpty, network.now >= next else { return }
    for index in senders where network.sendData(from: index, [4, 0, 0, 0, UInt8(index)]) { sent[index] += 1 }
    next = network.now + interval
  }

  /// The longest time host `index` went without a datagram between `start` and `end`.
  func longestGap(at index: Int, from start: SimulatedNetwork.Instant, to end: SimulatedNetwork.Instant) -> Duration {
    let times = [start] + arrivals[index].filter { $0 > start && $0 <= end } + [end]
    return zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? .zero
  }
}

@Suite("path survival: a dying path under traffic, in virtual time")
struct PathSurvivalTests {
  let relayA = TransportAddress("198.51.100.200:7000")

  /// Two public hosts with a direct path, and a relayed candidate for host 0.
  func connected(roles: (ICERole, ICERole)) -> SimulatedNetwork {
    let network = makePeers(roles: roles)
    network.relays[relayA] = 0
    network.hosts[0].agent.addLocalCandidate(Candidate(type: .relay, address: relayA, base: relayA), now: network.now)
    exchangeCandidates(network)
    network.run(for: .seconds(5)) { network in
      bothConnected(network) && network.hosts.allSatisfy { $0.agent.orderedPairs.allSatisfy { $0.state == .succeeded || $0.state == .failed } }
    }
    return network
  }

  /// Drops every datagram that neither leaves from nor goes to a relayed address.
  func cutDirectPath(_ network: SimulatedNetwork) {
    let relays = Set(network.relays.keys)
    network.drop = { from, to in !relays.contains(from) && !relays.contains(to) }
  }

  /// Moves `host` to `address`; its new candidate reaches the peer through signaling 50 ms later.
  func move(_ network: SimulatedNetwork, host: Int, to address: String) -> Candidate {
    let candidate = network.move(host: host, to: TransportAddress(address))
    network.run(for: .milliseconds(50))
    network.hosts[1 - host].agent.addRemoteCandidate(candidate, now: network.now)
    return candidate
  }

  @Test("the direct path dies under traffic: the relayed standby carries it within half a second", arguments: [
    (ICERole.controlling, ICERole.controlled), (.controlled, .controlling),
  ])
  func failover(roles: (ICERole, ICERole)) throws {
    let network = connected(roles: roles)
    #expect(try #require(network.hosts[0].agent.selectedPair).local != relayA)
    let traffic = Traffic(network)
    network.companion = traffic
    network.run(for: .seconds(3))
    let cut = network.now
    cutDirectPath(network)
    network.run(for: .seconds(3))
    let gaps = [0, 1].map { traffic.longestGap(at: $0, from: cut - .seconds(1), to: network.now) }
    print("failover (\(roles.0) with the relay): longest gaps \(gaps)")
    for gap in gaps { #expect(gap < .milliseconds(600)) }
    for host in network.hosts {
      #expect(try #require(host.agent.selectedPair.flatMap { host.agent.pair($0) }).isRelayed)
      #expect(host.agent.state == .connected || host.agent.state == .completed)
      #expect(host.events.contains { if case .pathLost = $0 { true } else { false } })
    }
  }

  @Test("the direct path heals: a heal check finds it within a second, and traffic returns to it without loss",
    arguments: [(ICERole.controlling, ICERole.controlled), (.controlled, .controlling)])
  func heal(roles: (ICERole, ICERole)) throws {
    let network = connected(roles: roles)
    let direct = try #require(network.hosts[0].agent.selectedPair)
    let traffic = Traffic(network)
    network.companion = traffic
    network.run(for: .seconds(2))
    cutDirectPath(network)
    #expect(network.run(for: .seconds(3)) { $0.hosts[0].agent.selectedPair?.local == self.relayA || $0.hosts[1].agent.selectedPair?.remote == self.relayA })
    network.run(for: .seconds(2))
    let healed = network.now
    network.drop = nil
    #expect(network.run(for: .seconds(3)) { $0.hosts[0].agent.selectedPair == direct && $0.hosts[1].agent.selectedPair.map { $0.local != self.relayA && $0.remote != self.relayA } == true })
    let back = network.now - healed
    network.run(for: .seconds(1))
    let gaps = [0, 1].map { traffic.longestGap(at: $0, from: healed, to: network.now) }
    print("heal (\(roles.0) with the relay): back on the direct pair after \(back), longest gaps \(gaps)")
    #expect(back < .milliseconds(1200))
    for gap in gaps { #expect(gap <= .milliseconds(40)) }
  }

  @Test("toward a peer that does not follow renominations, a dying path fails the agent at once")
  func failsTowardPeerThatCannotFollow() throws {
    let network = connected(roles: (.controlling, .controlled))
    network.hosts[0].agent.peerFollowsRenomination = false
    let traffic = Traffic(network)  // the network holds its companion weakly
    network.companion = traffic
    network.run(for: .seconds(2))
    let cut = network.now
    cutDirectPath(network)
    #expect(network.run(for: .seconds(3)) { $0.hosts[0].agent.state == .failed })
    let failedAfter = network.now - cut
    print("failed \(failedAfter) after the cut")
    #expect(failedAfter < .milliseconds(600))
    #expect(network.hosts[0].events.contains { if case .pathLost = $0 { true } else { false } })
  }

  @Test("a path that dies while idle goes by consent, as without traffic: no fast checks, Disconnected after 5 s")
  func idleGoesByConsent() throws {
    let network = connected(roles: (.controlling, .controlled))
    let checksBefore = network.hosts.map { host in host.agent.orderedPairs.reduce(0) { $0 + $1.statistics.requestsSent } }
    network.run(for: .seconds(20))
    let checksIdle = network.hosts.map { host in host.agent.orderedPairs.reduce(0) { $0 + $1.statistics.requestsSent } }
    // Consent every 2 s ± 20 %: 8 to 13 checks in 20 s, nothing faster.
    for (before, after) in zip(checksBefore, checksIdle) { #expect((8...13).contains(after - before)) }
    let cut = network.now
    cutDirectPath(network)
    #expect(network.run(for: .seconds(10)) { $0.hosts[0].agent.state == .disconnected })
    let disconnectedAfter = network.now - cut
    #expect(disconnectedAfter > .seconds(2) && disconnectedAfter <= .seconds(5))
    #expect(!network.hosts.contains { $0.events.contains { if case .pathLost = $0 { true } else { false } } })
    #expect(try #require(network.hosts[0].agent.selectedPair).local != relayA)
  }

  @Test("a host that moves to another network: traffic is back within a second, whichever side moved and controls",
    arguments: [(ICERole.controlling, ICERole.controlled), (.controlled, .controlling)])
  func hostMoves(roles: (ICERole, ICERole)) throws {
    let network = connected(roles: roles)
    // Connected for longer than the checking timeout: a deadline of the checking phase must not
    // come back when the selected pair goes (it spun the driver's timer).
    network.run(for: .seconds(31))
    let traffic = Traffic(network)
    network.companion = traffic
    network.run(for: .seconds(2))
    let moved = network.now
    let candidate = move(network, host: 0, to: "203.0.113.50:5000")
    network.run(for: .seconds(3))
    let gaps = [0, 1].map { traffic.longestGap(at: $0, from: moved, to: network.now) }
    print("host moved (\(roles.0)): longest gaps \(gaps)")
    for gap in gaps { #expect(gap < .seconds(1)) }
    #expect(try #require(network.hosts[0].agent.selectedPair).local == candidate.address)
    #expect(try #require(network.hosts[1].agent.selectedPair).remote == candidate.address)
  }

  @Test("the controlled peer moves just after a renomination: its data on a new pair moves the controlling side at once")
  func peerMovesDuringRenominationFollowUp() throws {
    let network = connected(roles: (.controlling, .controlled))
    let direct = try #require(network.hosts[0].agent.selectedPair)
    let traffic = Traffic(network)
    network.companion = traffic
    network.run(for: .seconds(2))
    cutDirectPath(network)
    #expect(network.run(for: .seconds(3)) { $0.hosts[0].agent.selectedPair?.local == self.relayA })
    network.run(for: .seconds(2))
    network.drop = nil
    // Back on the direct pair: the controlling side renominated it and now watches whether the
    // peer follows (for up to 30 s); the peer moving meanwhile must not wait for that.
    #expect(network.run(for: .seconds(3)) { $0.hosts[0].agent.selectedPair == direct })
    network.run(for: .milliseconds(700))
    let moved = network.now
    let candidate = move(network, host: 1, to: "203.0.113.60:5000")
    network.run(for: .seconds(3))
    let gaps = [0, 1].map { traffic.longestGap(at: $0, from: moved, to: network.now) }
    print("peer moved during the renomination follow-up: longest gaps \(gaps)")
    // Host 1's own direction resumes once its new pair answers; host 0 follows the moment the
    // peer's data arrives there, not when its old pair is declared dead (3 missed checks).
    #expect(gaps[1] < .milliseconds(300))
    #expect(try #require(network.hosts[0].agent.selectedPair).remote == candidate.address)
  }

  @Test("a peer that moved many times: its dead candidates make way for a new one (the check list is full of failed pairs)")
  func fullCheckListKeepsNewPairs() throws {
    let network = connected(roles: (.controlled, .controlling))
    // A hundred and twenty addresses the peer had and lost (nothing answers there).
    let now = network.now
    for index in 0..<120 {
      network.hosts[1].agent.addRemoteCandidate(Candidate(type: .host, address: TransportAddress("203.0.113.\(index + 100):7000")), now: now)
    }
    network.run(for: .seconds(60))
    let failed = network.hosts[1].agent.orderedPairs.filter { $0.state == .failed }.count
    #expect(failed > 90)
    // The peer's next network.
    let next = TransportAddress("198.51.100.77:7000")
    network.hosts[1].agent.addRemoteCandidate(Candidate(type: .host, address: next), now: network.now)
    #expect(network.hosts[1].agent.orderedPairs.contains { $0.remote.address == next })
    #expect(network.hosts[1].agent.orderedPairs.count <= 100)
    #expect(network.hosts[1].agent.selectedPair != nil && network.hosts[1].agent.state == .completed)
  }

  @Test("a host that did not run for a minute notices, and its agent fails at once so that the session starts over")
  func longSuspension() throws {
    let network = connected(roles: (.controlling, .controlled))
    network.run(for: .seconds(3))
    let asleep = network.now
    network.suspendedUntil[0] = asleep + .seconds(60)
    #expect(network.run(for: .seconds(61)) { $0.hosts[0].agent.state == .failed })
    let gaps = network.hosts[0].events.compactMap { if case .resumed(let gap) = $0 { gap } else { nil } }
    #expect(gaps.count == 1 && gaps[0] > .seconds(57))
    // It failed the moment it ran again, not a consent timeout later.
    #expect(network.now - asleep <= .seconds(60) + .milliseconds(1))
  }

  @Test("a host that did not run for four seconds checks its path and keeps it")
  func shortSuspension() throws {
    let network = connected(roles: (.controlling, .controlled))
    network.run(for: .seconds(3))
    // Asleep until 4 s after its next deadline: the timeout is handled 4 s late.
    network.suspendedUntil[0] = try #require(network.hosts[0].agent.pollTimeout()) + .seconds(4)
    network.run(for: .seconds(10))
    let gaps = network.hosts[0].events.compactMap { if case .resumed(let gap) = $0 { gap } else { nil } }
    #expect(gaps == [.seconds(4)])
    #expect(network.hosts[0].agent.state == .completed && network.hosts[1].agent.state == .connected)
  }
}

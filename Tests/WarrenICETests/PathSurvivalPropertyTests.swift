import Testing
import WarrenICE
import WarrenICEEndpoint
import WarrenSimulation
import WarrenPrimitives

/// The property of docs/ice.md, "Path survival", over 1,000 random seeds each: two endpoints
/// (agents with real TURN clients) on `SimulatedNetwork`, each behind a random NAT that lets a
/// direct path through (none, full cone, address-restricted, port-restricted), random latency and
/// roles, server-reflexive candidates from a STUN server and relayed ones from a TURN server, all
/// in the simulation. Once connected over a direct pair:
///
/// - **under traffic** the direct
///   path is cut at a random moment (the TURN server stays reachable): on every side that
///   receives, no gap between datagrams exceeds 1 s, and the traffic ends up relayed;
/// - **idle**, the same cut goes by consent as without path survival: no fast checks, no
///   `pathLost`, and Disconnected 5 s after the last consent answer, not earlier.
///
/// The seeds run one test at a time, and each test gives way between seeds (`Task.yield`): they
/// keep a core busy for seconds, on the threads that the timing-sensitive integration tests
/// running next to them need too.
@Suite("path survival: a property test over random networks, with TURN, in virtual time", .serialized)
struct PathSurvivalPropertyTests {
  static let stun = TransportAddress("198.51.100.250:3478")
  static let turn = TransportAddress("198.51.100.254:3478")
  static let behaviours: [SimulatedNetwork.NATBehaviour?] = [nil, .endpointIndependent, .addressDependentFiltering, .addressAndPortDependentFiltering]

  struct Scenario: CustomStringConvertible {
    var seed: UInt64
    var nats: [SimulatedNetwork.NATBehaviour?]
    var latency: Duration
    var roles: (ICERole, ICERole)
    var senders: [Int]
    var cutAfter: Duration

    init(seed: UInt64) {
      var random = SplitMix64(seed: seed &* 0x9e37_79b9_7f4a_7c15)
      nats = [Self.pick(PathSurvivalPropertyTests.behaviours, &random), Self.pick(PathSurvivalPropertyTests.behaviours, &random)]
      latency = .milliseconds(5 + Int(random.next() % 36))
      roles = random.next() % 2 == 0 ? (.controlling, .controlled) : (.controlled, .controlling)
      senders = Self.pick([[0], [1], [0, 1]], &random)
      cutAfter = .milliseconds(300 + Int(random.next() % 1500))
      self.seed = seed
    }

    static func pick<T>(_ choices: [T], _ random: inout SplitMix64) -> T { choices[Int(random.next() % UInt64(choices.count))] }

    var description: String {
      "seed \(seed): NATs \(nats.map { $0.map { "\($0)" } ?? "none" }), latency \(latency), host 0 \(roles.0), traffic from \(senders), cut after \(cutAfter)"
    }
  }

  /// Two endpoints connected over a direct pair, every candidate gathered and exchanged, every
  /// pair's first check done; nil (with the reason) if that does not happen.
  func connected(_ scenario: Scenario) -> (SimulatedNetwork, String?) {
    let addresses = ["10.1.0.2:5000", "10.2.0.2:6000"]
    let publics = ["203.0.113.1", "203.0.113.2"]
    var random = SplitMix64(seed: scenario.seed)
    let roles = [scenario.roles.0, scenario.roles.1]
    let hosts = (0..<2).map { index in
      let nat = scenario.nats[index].map { SimulatedNetwork.NAT(publicIP: .init(publics[index])!, behaviour: $0) }
      // Without a NAT the host has a public address of its own.
      let address = nat == nil ? TransportAddress("\(publics[index]):\(5000 + index * 1000)") : TransportAddress(addresses[index])
      return SimulatedNetwork.Host(
        agent: ICEAgent(role: roles[index], localCredentials: .random(using: &random), seed: random.next()), address: address, nat: nat)
    }
    let network = SimulatedNetwork(hosts: hosts)
    network.latency = scenario.latency
    network.stunServers = [Self.stun]
    network.turnServers[Self.turn] = SimulatedTURNServer(address: Self.turn)
    for index in 0..<2 {
      let (host, now) = (Candidate(type: .host, address: network.hosts[index].address), network.now)
      network.hosts[index].endpoint.withAgent(now: now) { $0.addLocalCandidate(host, now: now) }
      if network.hosts[index].nat != nil, let srflx = network.gatherServerReflexive(host: index, server: Self.stun) {
        let now = network.now
        network.hosts[index].endpoint.withAgent(now: now) { $0.addLocalCandidate(srflx, now: now) }
      }
      network.allocate(host: index, on: Self.turn)
    }
    guard network.run(for: .seconds(2), until: { $0.hosts.allSatisfy { !$0.allocated.isEmpty } }) else {
      return (network, "no TURN allocation")
    }
    let now = network.now
    for index in 0..<2 {
      let credentials = network.hosts[1 - index].agent.localCredentials
      let candidates = network.hosts[1 - index].agent.localCandidates.filter { $0.type != .peerReflexive }
      network.hosts[index].endpoint.withAgent(now: now) { $0.setRemoteCredentials(credentials, now: now) }
      for candidate in candidates { network.hosts[index].endpoint.addRemoteCandidate(candidate, now: now) }
    }
    // Connected, and a relayed pair works on each side (checked after the direct ones).
    let settled = network.run(for: .seconds(15)) { network in
      bothConnected(network) && network.hosts.allSatisfy { host in host.agent.orderedPairs.contains { $0.isRelayed && $0.state == .succeeded } }
    }
    guard settled else { return (network, "not connected, with a working relayed pair on each side, after 15 s") }
    for index in 0..<2 {
      guard let pair = network.hosts[index].agent.selectedPair.flatMap({ network.hosts[index].agent.pair($0) }), !pair.isRelayed else {
        return (network, "host \(index) selected a relayed pair while a direct one works")
      }
    }
    return (network, nil)
  }

  /// Drops what travels between the two hosts directly; the TURN server and its relayed addresses
  /// stay reachable.
  func cutDirectPath(_ network: SimulatedNetwork) {
    let server = network.turnServers[Self.turn]!
    network.drop = { from, to in
      let relayed = server.relayedAddresses
      return from != Self.turn && to != Self.turn && !relayed.contains(from) && !relayed.contains(to)
    }
  }

  @Test("under traffic, a direct path cut at a random moment: data flows on another pair within 1 s", .serialized, arguments: 0..<10)
  func underTraffic(batch: Int) async throws {
    var failures: [String] = []
    var worst: Duration = .zero
    var gaps: [Duration] = []
    for seed in UInt64(batch * 100)..<UInt64(batch * 100 + 100) {
      await Task.yield()
      let scenario = Scenario(seed: seed)
      let (network, problem) = connected(scenario)
      if let problem {
        failures.append("\(scenario): \(problem)")
        continue
      }
      // A datagram every 40 ms each way (half the rate of the netns harness's ping: the same
      // property, at half the simulation's cost).
      let traffic = Traffic(network, every: .milliseconds(40), from: scenario.senders)
      network.companion = traffic
      network.run(for: scenario.cutAfter)
      let cut = network.now
      cutDirectPath(network)
      network.run(for: .seconds(2))
      for receiver in Set(scenario.senders.map { 1 - $0 }) {
        let gap = traffic.longestGap(at: receiver, from: cut, to: network.now)
        gaps.append(gap)
        worst = max(worst, gap)
        if gap >= .seconds(1) { failures.append("\(scenario): host \(receiver) went \(gap) without data") }
      }
      for sender in scenario.senders {
        let selected = network.hosts[sender].agent.selectedPair.flatMap { network.hosts[sender].agent.pair($0) }
        if selected?.isRelayed != true { failures.append("\(scenario): host \(sender) sends over \(selected.map { "\($0)" } ?? "nothing")") }
      }
    }
    gaps.sort()
    print("seeds \(batch * 100)–\(batch * 100 + 99) under traffic: longest gap after the cut p50 \(gaps[gaps.count / 2]), max \(worst)")
    #expect(failures.count == 0, "\(failures.count) of 100 seeds failed; first: \(failures.prefix(3))")
  }

  @Test("idle, the same cut goes by consent: no fast checks, Disconnected 5 s after the last answer", .serialized, arguments: 0..<10)
  func idle(batch: Int) async throws {
    var failures: [String] = []
    for seed in UInt64(batch * 100)..<UInt64(batch * 100 + 100) {
      await Task.yield()
      let scenario = Scenario(seed: seed)
      let (network, problem) = connected(scenario)
      if let problem {
        failures.append("\(scenario): \(problem)")
        continue
      }
      network.run(for: scenario.cutAfter)
      let checksBefore = network.hosts.map { $0.agent.orderedPairs.reduce(0) { $0 + $1.statistics.requestsSent } }
      let cut = network.now
      cutDirectPath(network)
      let disconnected = network.run(for: .seconds(8)) { $0.hosts.allSatisfy { $0.agent.state == .disconnected } }
      let after = network.now - cut
      let checks = zip(network.hosts.map { $0.agent.orderedPairs.reduce(0) { $0 + $1.statistics.requestsSent } }, checksBefore).map { $0 - $1 }
      if !disconnected { failures.append("\(scenario): not Disconnected 8 s after the cut") }
      // The last consent answer came at most one consent interval (2 s + 20 %) before the cut.
      if after < .milliseconds(2_600) || after > .seconds(5) + scenario.latency * 2 {
        failures.append("\(scenario): Disconnected \(after) after the cut")
      }
      if network.hosts.contains(where: { $0.events.contains { if case .pathLost = $0 { true } else { false } } }) {
        failures.append("\(scenario): a fast check declared the idle path dead")
      }
      // Consent checks (with their retransmissions: 7 per check at most) and nothing faster.
      if checks.contains(where: { $0 > 16 }) { failures.append("\(scenario): \(checks) checks in \(after) while idle") }
    }
    #expect(failures.count == 0, "\(failures.count) of 100 seeds failed; first: \(failures.prefix(3))")
  }
}

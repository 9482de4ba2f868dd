import Testing
import WarrenICE
import WarrenSimulation
import WarrenPrimitives

/// Two agents in a simulated network, credentials and candidates exchanged the way signaling
/// would (directly here).
func makePeers(
  a addressA: String = "198.51.100.1:5000", b addressB: String = "198.51.100.2:6000",
  natA: SimulatedNetwork.NATBehaviour? = nil, natB: SimulatedNetwork.NATBehaviour? = nil,
  roles: (ICERole, ICERole) = (.controlling, .controlled), configuration: ICEConfiguration = ICEConfiguration()
) -> SimulatedNetwork {
  var random = SplitMix64(seed: 7)
  let credentialsA = ICECredentials.random(using: &random)
  let credentialsB = ICECredentials.random(using: &random)
  let network = SimulatedNetwork(hosts: [
    .init(agent: ICEAgent(role: roles.0, localCredentials: credentialsA, configuration: configuration, seed: 1),
          address: TransportAddress(addressA), nat: natA.map { .init(publicIP: .init("203.0.113.1")!, behaviour: $0) }),
    .init(agent: ICEAgent(role: roles.1, localCredentials: credentialsB, configuration: configuration, seed: 2),
          address: TransportAddress(addressB), nat: natB.map { .init(publicIP: .init("203.0.113.2")!, behaviour: $0) }),
  ])
  let now = network.now
  network.hosts[0].agent.setRemoteCredentials(credentialsB, now: now)
  network.hosts[1].agent.setRemoteCredentials(credentialsA, now: now)
  for index in 0..<2 {
    network.hosts[index].agent.addLocalCandidate(Candidate(type: .host, address: network.hosts[index].address), now: now)
  }
  return network
}

/// Hands each agent's candidates to the other, as trickle over signaling would.
func exchangeCandidates(_ network: SimulatedNetwork, extra: [[Candidate]] = [[], []]) {
  let now = network.now
  for index in 0..<2 {
    for candidate in network.hosts[index].agent.localCandidates + extra[index] where candidate.type != .peerReflexive {
      network.hosts[1 - index].agent.addRemoteCandidate(candidate, now: now)
    }
  }
}

func bothConnected(_ network: SimulatedNetwork) -> Bool {
  network.hosts.allSatisfy {
    ($0.agent.state == .connected || $0.agent.state == .completed) && $0.agent.selectedPair != nil
  }
}

@Suite("ICE agent in virtual time")
struct ICEAgentTests {
  @Test("two public hosts connect directly, select the same path, and carry data both ways")
  func direct() throws {
    let network = makePeers()
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(5), until: bothConnected))
    #expect(network.elapsed < .milliseconds(200))
    let selectedA = try #require(network.hosts[0].agent.selectedPair)
    let selectedB = try #require(network.hosts[1].agent.selectedPair)
    #expect(selectedA.remote == network.hosts[1].address && selectedB.remote == network.hosts[0].address)
    #expect(network.hosts[0].agent.state == .completed)
    #expect(network.hosts[1].agent.state == .connected)
    #expect(network.sendData(from: 0, [1, 0, 0, 0, 42]))  // a WireGuard-looking datagram
    #expect(network.sendData(from: 1, [4, 0, 0, 0, 7]))
    network.run(for: .milliseconds(100))
    #expect(network.hosts[1].received == [[1, 0, 0, 0, 42]])
    #expect(network.hosts[0].received == [[4, 0, 0, 0, 7]])
    let stats = try #require(network.hosts[0].agent.pair(selectedA)?.statistics)
    #expect(stats.responsesReceived >= 1 && stats.currentRoundTripTime == .milliseconds(20))
  }

  @Test("30 % loss and reordering delay but do not prevent the connection")
  func lossAndReordering() {
    let network = makePeers()
    network.lossRate = 0.3
    network.reorderJitter = .milliseconds(40)
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(20), until: bothConnected))
  }

  @Test("a role conflict (both controlling) is resolved by tie-breaker and they connect")
  func roleConflict() {
    let network = makePeers(roles: (.controlling, .controlling))
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(10), until: bothConnected))
    let roles = network.hosts.map(\.agent.role)
    #expect(Set(roles) == [.controlling, .controlled])
    let a = network.hosts[0].agent.tieBreaker, b = network.hosts[1].agent.tieBreaker
    #expect(roles[0] == (a > b ? .controlling : .controlled))
  }

  @Test("candidates trickled late still lead to a connection")
  func trickleLate() {
    let network = makePeers()
    network.run(for: .seconds(2))
    #expect(network.hosts.allSatisfy { $0.agent.selectedPair == nil })
    exchangeCandidates(network)
    let before = network.elapsed
    #expect(network.run(for: .seconds(5), until: bothConnected))
    #expect(network.elapsed - before < .milliseconds(200))
  }

  @Test("a host behind a NAT is reached through a peer-reflexive candidate", arguments: [
    SimulatedNetwork.NATBehaviour.endpointIndependent, .addressDependentFiltering,
    .addressAndPortDependentFiltering, .symmetric,
  ])
  func oneSideNAT(behaviour: SimulatedNetwork.NATBehaviour) throws {
    let network = makePeers(a: "10.0.0.2:5000", natA: behaviour)
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(10), until: bothConnected))
    let atB = try #require(network.hosts[1].agent.selectedPair)
    #expect(atB.remote.ip == .init("203.0.113.1")!)
    #expect(network.hosts[1].agent.remoteCandidates.contains { $0.type == .peerReflexive })
  }

  @Test("both behind endpoint-independent NATs connect over server-reflexive candidates from a STUN server", arguments: [
    SimulatedNetwork.NATBehaviour.endpointIndependent, .addressDependentFiltering, .addressAndPortDependentFiltering,
  ])
  func bothNAT(behaviour: SimulatedNetwork.NATBehaviour) throws {
    let network = makePeers(a: "10.0.0.2:5000", b: "10.1.0.2:6000", natA: behaviour, natB: behaviour)
    let stunServer = TransportAddress("198.51.100.100:3478")
    network.stunServers = [stunServer]
    let start = network.now
    for index in 0..<2 {
      let srflx = try #require(network.gatherServerReflexive(host: index, server: stunServer))
      #expect(srflx.address.ip == (index == 0 ? .init("203.0.113.1")! : .init("203.0.113.2")!))
      network.hosts[index].agent.addLocalCandidate(srflx, now: network.now)
    }
    #expect(network.now - start == .milliseconds(40))  // two round trips of 2 x 10 ms
    exchangeCandidates(network)
    let exchanged = network.now
    #expect(network.run(for: .seconds(10), until: bothConnected))
    let selected = try #require(network.hosts[0].agent.selectedPair)
    #expect(selected.remote == network.hosts[1].agent.localCandidates.first { $0.type == .serverReflexive }?.address)
    // Checks through both NATs: the first ones may be filtered until the other side has sent too.
    #expect(network.now - exchanged < .seconds(1))
  }

  @Test("both behind symmetric NATs without a relay fail after the checking timeout")
  func symmetricBothFails() throws {
    var configuration = ICEConfiguration()
    configuration.checkingTimeout = .seconds(10)
    let network = makePeers(a: "10.0.0.2:5000", b: "10.1.0.2:6000", natA: .symmetric, natB: .symmetric, configuration: configuration)
    let stunServer = TransportAddress("198.51.100.100:3478")
    network.stunServers = [stunServer]
    for index in 0..<2 {
      // The mapping towards the STUN server is not the one towards the peer.
      let srflx = try #require(network.gatherServerReflexive(host: index, server: stunServer))
      network.hosts[index].agent.addLocalCandidate(srflx, now: network.now)
    }
    exchangeCandidates(network)
    #expect(!network.run(for: .seconds(9), until: bothConnected))
    network.run(for: .seconds(2))
    #expect(network.hosts.allSatisfy { $0.agent.state == .failed })
  }

  @Test("a STUN server behind a filtering NAT's back answers nothing; gathering gives no candidate")
  func stunServerUnreachable() {
    let network = makePeers(a: "10.0.0.2:5000", natA: .endpointIndependent)
    network.stunServers = [TransportAddress("198.51.100.100:3478")]
    network.drop = { _, to in to == TransportAddress("198.51.100.100:3478") }
    #expect(network.gatherServerReflexive(host: 0, server: TransportAddress("198.51.100.100:3478")) == nil)
  }

  @Test("losing consent leads to Disconnected, then Failed; consent back in time recovers")
  func consent() {
    let network = makePeers()
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(5), until: bothConnected))
    // Consent is judged by the responses to our own checks only (RFC 7675).
    network.blackhole = true
    let cut = network.elapsed
    let disconnected = network.run(for: .seconds(20)) { $0.hosts[0].agent.state == .disconnected }
    #expect(disconnected)
    // Disconnected 5 s after the last consent response, which came at most one consent interval
    // (5 s + 20 % jitter) before the cut.
    let disconnectedAfter = network.elapsed - cut
    #expect(disconnectedAfter > .zero && disconnectedAfter <= .seconds(5) + .milliseconds(50))
    network.blackhole = false
    let recovered = network.run(for: .seconds(10)) { $0.hosts[0].agent.state == .completed }
    #expect(recovered)

    network.blackhole = true
    let cutAgain = network.elapsed
    let failed = network.run(for: .seconds(60)) { $0.hosts.allSatisfy { $0.agent.state == .failed } }
    #expect(failed)
    let failedAfter = network.elapsed - cutAgain
    #expect(failedAfter >= .seconds(24) && failedAfter <= .seconds(30) + .milliseconds(50))
    #expect(network.hosts[0].events.contains(.stateChanged(.disconnected)))
  }

  @Test("a healthy path stays connected: consent checks come often enough that jitter never trips Disconnected")
  func healthyPathNeverDisconnects() {
    let network = makePeers()
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(5), until: bothConnected))
    network.run(for: .seconds(300))
    #expect(bothConnected(network))
    #expect(!network.hosts.contains { $0.events.contains(.stateChanged(.disconnected)) })
  }

  @Test("a probe is answered over the selected pair with its round-trip time, or reported lost once")
  func probe() throws {
    let network = makePeers()
    let early = network.hosts[0].agent.probe(1, timeout: .seconds(1), now: network.now)
    #expect(!early)  // no pair yet
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(5), until: bothConnected))
    let selected = try #require(network.hosts[0].agent.selectedPair)
    let sentFirst = network.hosts[0].agent.probe(7, timeout: .seconds(1), now: network.now)
    #expect(sentFirst)
    network.run(for: .milliseconds(100))
    #expect(network.hosts[0].events.last == .probeAnswered(token: 7, roundTripTime: .milliseconds(20), pair: selected))

    // Never retransmitted: a lost probe is one datagram, reported once when its timeout passes.
    network.blackhole = true
    let sentSecond = network.hosts[0].agent.probe(8, timeout: .milliseconds(800), now: network.now)
    #expect(sentSecond)
    let sent = network.now
    let lost = network.run(for: .seconds(2)) { $0.hosts[0].events.contains(.probeLost(token: 8)) }
    #expect(lost && network.now - sent == .milliseconds(800))
    network.run(for: .seconds(2))
    #expect(network.hosts[0].events.filter { $0 == .probeLost(token: 8) }.count == 1)
    #expect(!network.hosts[0].events.contains { if case .probeAnswered(8, _, _) = $0 { true } else { false } })
  }

  @Test("an ICE restart with new credentials connects again")
  func restart() {
    let network = makePeers()
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(5), until: bothConnected))
    var random = SplitMix64(seed: 1234)
    let newA = ICECredentials.random(using: &random), newB = ICECredentials.random(using: &random)
    network.hosts[0].agent.restart(localCredentials: newA, now: network.now)
    network.hosts[1].agent.restart(localCredentials: newB, now: network.now)
    #expect(network.hosts.allSatisfy { $0.agent.state == .new && $0.agent.selectedPair == nil })
    network.hosts[0].agent.setRemoteCredentials(newB, now: network.now)
    network.hosts[1].agent.setRemoteCredentials(newA, now: network.now)
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(5), until: bothConnected))
  }

  @Test("checks from a stranger with the wrong password are ignored")
  func wrongPassword() {
    let network = makePeers()
    // B is told the wrong password for A: its checks do not verify at A, A never answers them.
    network.hosts[1].agent.setRemoteCredentials(ICECredentials(ufrag: network.hosts[0].agent.localCredentials.ufrag, pwd: "wrong"), now: network.now)
    exchangeCandidates(network)
    #expect(!network.run(for: .seconds(3), until: bothConnected))
  }

  @Test("candidate priorities and pair priorities follow RFC 8445")
  func priorities() {
    let host = Candidate(type: .host, address: TransportAddress("198.51.100.1:1"))
    #expect(host.priority == (126 << 24) | (65535 << 8) | 255)
    let relay = Candidate(type: .relay, address: TransportAddress("198.51.100.9:1"), base: TransportAddress("198.51.100.9:1"))
    #expect(relay.priority == (65535 << 8) | 255)
    let pair = CandidatePair(local: host, remote: relay)
    let g = UInt64(host.priority), d = UInt64(relay.priority)
    #expect(pair.priority(controlling: true) == (d << 32) + 2 * g + 1)
    #expect(pair.priority(controlling: false) == (d << 32) + 2 * g)
    #expect(Candidate(type: .host, address: TransportAddress("198.51.100.1:2")).foundation == host.foundation)
    #expect(Candidate(type: .serverReflexive, address: TransportAddress("198.51.100.1:2")).foundation != host.foundation)
  }

  @Test("a remote candidate signaled twice makes one pair; a signaled one replaces the peer-reflexive one at its address")
  func duplicateRemoteCandidates() {
    var agent = ICEAgent(role: .controlling, localCredentials: ICECredentials(ufrag: "aaaa", pwd: String(repeating: "p", count: 22)), seed: 1)
    let now = ContinuousClock.now
    agent.addLocalCandidate(Candidate(type: .host, address: TransportAddress("198.51.100.1:5000")), now: now)
    let remote = Candidate(type: .host, address: TransportAddress("198.51.100.2:6000"))
    agent.addRemoteCandidate(remote, now: now)
    agent.addRemoteCandidate(remote, now: now)
    agent.addRemoteCandidate(Candidate(type: .serverReflexive, address: TransportAddress("198.51.100.2:6000")), now: now)
    #expect(agent.remoteCandidates == [remote] && agent.orderedPairs.count == 1)
  }

  @Test("the check list keeps at most 100 pairs, dropping the lowest-priority waiting ones (RFC 8445 §6.1.2.5)")
  func checkListPruning() {
    var agent = ICEAgent(role: .controlling, localCredentials: ICECredentials(ufrag: "aaaa", pwd: String(repeating: "p", count: 22)), seed: 1)
    let now = ContinuousClock.now
    agent.addLocalCandidate(Candidate(type: .host, address: TransportAddress("198.51.100.1:5000")), now: now)
    for port in 1...120 {
      // Later candidates have lower priorities.
      let candidate = Candidate(type: .host, address: TransportAddress(ip: .init("198.51.100.2")!, port: UInt16(port)), localPreference: UInt32(1000 - port))
      agent.addRemoteCandidate(candidate, now: now)
    }
    #expect(agent.remoteCandidates.count == 120)
    #expect(agent.orderedPairs.count == 100)
    #expect(Set(agent.orderedPairs.map(\.remote.address.port)) == Set(1...100))
  }
}

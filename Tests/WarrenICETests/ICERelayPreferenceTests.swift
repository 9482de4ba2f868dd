import Testing
import WarrenICE
import WarrenSimulation
import WarrenPrimitives

@Suite("ICE prefers direct pairs over relayed ones")
struct ICERelayPreferenceTests {
  let relayA = TransportAddress("198.51.100.200:7000")

  func withRelay(_ network: SimulatedNetwork) {
    network.relays[relayA] = 0
    network.hosts[0].agent.addLocalCandidate(Candidate(type: .relay, address: relayA, base: relayA), now: network.now)
  }

  @Test("with TURN configured and a direct path working, a relayed pair is never selected")
  func directWins() throws {
    let network = makePeers()
    withRelay(network)
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(5), until: bothConnected))
    network.run(for: .seconds(3))
    for host in network.hosts {
      #expect(!host.events.contains { if case .selectedPairChanged(let pair) = $0 { pair.isRelayed } else { false } })
    }
  }

  @Test("relay-only: no check ever leaves a host candidate, even where a direct path would work")
  func relayOnly() throws {
    var configuration = ICEConfiguration()
    configuration.relayOnly = true
    let network = makePeers()
    // A alone uses the relay-only policy; B is an ordinary agent.
    let old = network.hosts[0].agent
    network.hosts[0].agent = ICEAgent(role: old.role, localCredentials: old.localCredentials, configuration: configuration, seed: 11)
    network.hosts[0].agent.setRemoteCredentials(network.hosts[1].agent.localCredentials, now: network.now)
    network.hosts[0].agent.addLocalCandidate(Candidate(type: .host, address: network.hosts[0].address), now: network.now)
    withRelay(network)
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(10), until: bothConnected))
    #expect(network.hosts[0].agent.checklist.allSatisfy { $0.local.type == .relay })
    #expect(try #require(network.hosts[0].agent.selectedPair).local == relayA)
    #expect(try #require(network.hosts[1].agent.selectedPair).remote == relayA)
  }

  @Test("when no direct path works, the relayed pair is selected after the grace period")
  func relayFallback() throws {
    var configuration = ICEConfiguration()
    configuration.relayNominationDelay = .seconds(1)
    let network = makePeers(a: "10.0.0.2:5000", b: "10.1.0.2:6000", natA: .symmetric, natB: .symmetric, configuration: configuration)
    withRelay(network)
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(10), until: bothConnected))
    let selected = try #require(network.hosts[0].agent.selectedPair)
    #expect(selected.local == relayA)
    #expect(network.elapsed >= .seconds(1))
    #expect(network.sendData(from: 1, [4, 0, 0, 0, 1]))
    network.run(for: .milliseconds(100))
    #expect(network.hosts[0].received == [[4, 0, 0, 0, 1]])
  }

  @Test("a direct path that starts working later replaces the selected relayed pair")
  func directReplacesRelay() throws {
    let network = makePeers()
    withRelay(network)
    // At first only the relay gets through: every datagram between the two host addresses is lost.
    let hostA = network.hosts[0].address, hostB = network.hosts[1].address
    network.drop = { from, to in (from == hostA && to == hostB) || (from == hostB && to == hostA) }
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(10)) { $0.hosts[0].agent.selectedPair?.local == relayA })
    network.drop = nil
    // A new remote candidate (trickled late) gives the direct path another chance.
    network.hosts[0].agent.addRemoteCandidate(Candidate(type: .host, address: hostB, localPreference: 65534), now: network.now)
    network.hosts[1].agent.addRemoteCandidate(Candidate(type: .host, address: hostA, localPreference: 65534), now: network.now)
    let switched = network.run(for: .seconds(40)) { $0.hosts.allSatisfy { $0.agent.selectedPair?.local != self.relayA && $0.agent.selectedPair != nil } && $0.hosts[0].agent.selectedPair?.local == hostA }
    #expect(switched)
  }
}

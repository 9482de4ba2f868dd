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
    #expect(network.hosts[0].agent.orderedPairs.allSatisfy { $0.local.type == .relay })
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

  @Test("relay first: the relay carries data at once; a direct path that opens later takes over without loss",
    arguments: [(ICERole.controlling, ICERole.controlled), (.controlled, .controlling)])
  func relayFirstThenDirect(roles: (ICERole, ICERole)) throws {
    var configuration = ICEConfiguration()
    configuration.relayNominationDelay = .zero
    let network = makePeers(roles: roles, configuration: configuration)
    withRelay(network)
    // The direct path is closed at first (a NAT filtering everything from the peer).
    let hostA = network.hosts[0].address, hostB = network.hosts[1].address
    network.drop = { from, to in (from == hostA && to == hostB) || (from == hostB && to == hostA) }
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(2), until: bothConnected))
    // The relayed pair's checks took two round trips through the relay; no grace period on top.
    let connectedAfter = network.elapsed
    #expect(connectedAfter < .milliseconds(300))
    #expect(try #require(network.hosts[0].agent.selectedPair).local == relayA)

    // Long enough for the first checks on the direct pairs to have failed (7 transmissions,
    // about 32 s): only a recheck finds them now.
    network.run(for: .seconds(40))
    #expect(bothConnected(network))
    for host in network.hosts {
      #expect(!host.agent.orderedPairs.contains { !$0.isRelayed && $0.state == .succeeded })
    }

    // The direct path opens; datagrams flow every 5 ms meanwhile (200/s), from each side, until
    // both sides have moved to the direct pair and 50 more after that.
    network.drop = nil
    let opened = network.elapsed
    var sent = [0, 0]
    var upgradedAfter: Duration?
    var after = 0
    while network.elapsed - opened < .seconds(12) && after < 50 {
      for side in 0..<2 where network.sendData(from: side, [4, 0, 0, 0, UInt8(side), UInt8(sent[side] & 0xff)]) { sent[side] += 1 }
      network.run(for: .milliseconds(5))
      if upgradedAfter != nil {
        after += 1
      } else if network.hosts[0].agent.selectedPair?.local == hostA && network.hosts[1].agent.selectedPair?.local == hostB {
        upgradedAfter = network.elapsed - opened
      }
    }
    // Rechecked within one recheck interval (5 s) of the path opening, plus the checks.
    let upgrade = try #require(upgradedAfter)
    print("relay first (\(roles.0) first): connected over the relay after \(connectedAfter), moved to the direct path \(upgrade) after it opened; \(sent[0] + sent[1]) datagrams, none lost")
    #expect(upgrade < .seconds(6))
    network.run(for: .milliseconds(100))
    #expect(network.hosts[1].received.count == sent[0] && network.hosts[0].received.count == sent[1])
    #expect(sent[0] > 50 && sent[1] > 50)
    // Each side switched its selected pair exactly once: relay, then direct.
    for host in network.hosts {
      let selections = host.events.compactMap { if case .selectedPairChanged(let pair) = $0 { pair.isRelayed } else { nil } }
      #expect(selections == [true, false])
    }
  }

  @Test("after a renomination, a peer that keeps sending over its first pair is told apart from one that follows",
    arguments: [true, false])
  func renominationFollowUp(follows: Bool) throws {
    let network = makePeers()
    withRelay(network)
    // The direct path is closed for the first 2 s: the relay is selected, then the direct pair's
    // retransmitted checks get through and it is nominated in the relay's place.
    let hostA = network.hosts[0].address, hostB = network.hosts[1].address
    network.drop = { from, to in (from == hostA && to == hostB) || (from == hostB && to == hostA) }
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(2), until: bothConnected))
    let firstOfB = try #require(network.hosts[1].agent.selectedPair)
    #expect(firstOfB.remote == relayA)
    network.drop = nil
    #expect(network.run(for: .seconds(20)) { $0.hosts[0].agent.selectedPair?.local == hostA })
    // B sends every 5 ms for 3 s: over its selected pair (following) or over its first one.
    for _ in 0..<600 {
      if follows {
        #expect(network.sendData(from: 1, [4, 0, 0, 0, 1]))
      } else {
        network.sendData(from: 1, over: firstOfB, [4, 0, 0, 0, 1])
      }
      network.run(for: .milliseconds(5))
    }
    network.run(for: .milliseconds(50))
    #expect(network.hosts[0].received.count == 600)  // nothing lost either way
    #expect(network.hosts[0].agent.peerFollowsRenomination == follows)
    let kept = network.hosts[0].events.compactMap { if case .renominationIgnored(let kept) = $0 { kept } else { nil } }
    #expect(kept.map(\.local.base) == (follows ? [] : [relayA]))
  }

  @Test("datagrams in flight on the old pair at a renomination, and none seen on the new one (WireGuard's kernel path), are no verdict")
  func renominationStragglers() throws {
    let network = makePeers()
    withRelay(network)
    let hostA = network.hosts[0].address, hostB = network.hosts[1].address
    network.drop = { from, to in (from == hostA && to == hostB) || (from == hostB && to == hostA) }
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(2), until: bothConnected))
    let firstOfB = try #require(network.hosts[1].agent.selectedPair)
    network.drop = nil
    #expect(network.run(for: .seconds(20)) { $0.hosts[0].agent.selectedPair?.local == hostA })
    // What B's proxy had sent over the relay before it followed arrives just after the switch;
    // from then on B's datagrams go over the new pair in the kernel, and the agent sees none.
    for _ in 0..<3 {
      network.sendData(from: 1, over: firstOfB, [4, 0, 0, 0, 1])
      network.run(for: .milliseconds(20))
    }
    network.run(for: .seconds(5))
    #expect(network.hosts[0].agent.peerFollowsRenomination != false)
    #expect(!network.hosts[0].events.contains { if case .renominationIgnored = $0 { true } else { false } })
  }

  @Test("data is accepted over a pair the peer has checked before this side's own check of it succeeds; not from strangers")
  func dataOverPeerCheckedPair() throws {
    let network = makePeers()
    let hostA = network.hosts[0].address, hostB = network.hosts[1].address
    // B's answers and checks never reach A: A's checks reach B, B's own check of the pair hangs.
    network.drop = { from, to in from == hostB && to == hostA }
    let beforeAnyCheck = network.hosts[1].agent.acceptData(count: 5, from: hostA, to: hostB, now: network.now)
    #expect(!beforeAnyCheck)
    exchangeCandidates(network)
    network.run(for: .milliseconds(200))
    let pair = try #require(network.hosts[1].agent.orderedPairs.first { $0.remote.address == hostA })
    #expect(pair.state != .succeeded && pair.statistics.requestsReceived > 0)
    let fromPeer = network.hosts[1].agent.acceptData(count: 5, from: hostA, to: hostB, now: network.now)
    let fromStranger = network.hosts[1].agent.acceptData(count: 5, from: TransportAddress("203.0.113.9:4000"), to: hostB, now: network.now)
    #expect(fromPeer && !fromStranger)
    let counted = try #require(network.hosts[1].agent.pair(pair.id)).statistics
    #expect(counted.packetsReceived == 1 && counted.bytesReceived == 5)
  }

  @Test("every datagram routed over the selected pair is counted on it, with its bytes")
  func dataCountedOnSelectedPair() throws {
    let network = makePeers()
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(5)) { $0.hosts[0].agent.selectedPair != nil })
    let selected = try #require(network.hosts[0].agent.selectedPair)
    let before = try #require(network.hosts[0].agent.pair(selected)).statistics
    for size in [1452, 1452, 148] {
      #expect(network.hosts[0].agent.route(byteCount: size, now: network.now) == selected)
    }
    let after = try #require(network.hosts[0].agent.pair(selected)).statistics
    #expect(after.packetsSent - before.packetsSent == 3 && after.bytesSent - before.bytesSent == 3052)
  }

  @Test("without rechecks, direct pairs that failed while the path was closed are never tried again")
  func noRecheckStaysOnRelay() throws {
    var configuration = ICEConfiguration()
    configuration.relayNominationDelay = .zero
    configuration.directRecheckInterval = nil
    let network = makePeers(configuration: configuration)
    withRelay(network)
    let hostA = network.hosts[0].address, hostB = network.hosts[1].address
    network.drop = { from, to in (from == hostA && to == hostB) || (from == hostB && to == hostA) }
    exchangeCandidates(network)
    #expect(network.run(for: .seconds(2), until: bothConnected))
    network.run(for: .seconds(40))
    network.drop = nil
    network.run(for: .seconds(30))
    #expect(try #require(network.hosts[0].agent.selectedPair).local == relayA)
  }
}

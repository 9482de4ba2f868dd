import Testing
import WarrenICE
import WarrenSimulation
import WarrenPrimitives

/// A home router reboots under a connected session: its NAT forgets every mapping and gives the
/// host's socket a new public port. The selected direct pair is dead; the relayed standby carries
/// the traffic at once, and the direct path must come back on the new mapping without an ICE
/// restart: the rebooted side's checks reach the peer (through the peer's relay, since the peer's
/// port-restricted NAT drops them directly) from an address never signaled, a peer-reflexive
/// candidate, which the peer then tries from its own host socket too.
@Suite("a NAT that reboots under traffic: relayed at once, direct again on the new mapping")
struct NATRebootTests {
  @Test("port-restricted NATs on both sides, either side rebooting, either role",
    arguments: [(0, ICERole.controlling), (0, .controlled), (1, .controlling), (1, .controlled)])
  func reboot(rebooted: Int, role: ICERole) throws {
    var scenario = PathSurvivalPropertyTests.Scenario(seed: 7)
    scenario.nats = [.addressAndPortDependentFiltering, .addressAndPortDependentFiltering]
    scenario.latency = .milliseconds(10)
    scenario.roles = role == .controlling ? (.controlling, .controlled) : (.controlled, .controlling)
    let (network, problem) = PathSurvivalPropertyTests().connected(scenario)
    #expect(problem == nil, "\(problem ?? "")")
    let traffic = Traffic(network)
    network.companion = traffic
    network.run(for: .seconds(2))
    let rebootedAt = network.now
    let before = try #require(network.hosts[rebooted].nat)
    var nat = SimulatedNetwork.NAT(publicIP: before.publicIP, behaviour: before.behaviour)
    nat.nextPort = 50000
    network.hosts[rebooted].nat = nat
    let direct = network.run(for: .seconds(10)) { network in
      network.hosts.allSatisfy { host in host.agent.selectedPair.flatMap { host.agent.pair($0) }.map { !$0.isRelayed && $0.state == .succeeded } == true }
        && network.hosts[1 - rebooted].agent.selectedPair?.remote.port == 50000
    }
    let back = network.now - rebootedAt
    let gaps = [0, 1].map { traffic.longestGap(at: $0, from: rebootedAt, to: network.now) }
    print("NAT \(rebooted) rebooted (host 0 \(role)): direct again after \(back), longest gaps \(gaps)")
    #expect(direct, "not direct again 10 s after the reboot: \(network.hosts.map { $0.agent.selectedPair.map { "\($0)" } ?? "none" })")
    #expect(back < .seconds(3))
    for gap in gaps { #expect(gap < .seconds(1)) }
    for host in network.hosts { #expect(host.agent.state == .connected || host.agent.state == .completed) }
  }
}

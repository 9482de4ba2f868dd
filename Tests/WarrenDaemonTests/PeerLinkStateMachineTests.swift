import Testing
import WarrenICE
import WarrenPrimitives
import WarrenSession

@testable import WarrenDaemon

/// The link's own record around the session, in virtual time: which agent's events count, when
/// a selection is a switch, and that the peer ignoring renominations is reported once.
@Suite struct PeerLinkStateMachineTests {
  static func candidate(_ type: CandidateType, _ text: String) -> Candidate {
    Candidate(type: type, address: TransportAddress(parsing: text)!)
  }
  static let direct = CandidatePair(local: candidate(.host, "10.1.0.2:40000"), remote: candidate(.host, "10.1.0.3:41000"))
  static let relayed = CandidatePair(local: candidate(.relay, "198.51.100.1:49152"), remote: candidate(.host, "203.0.113.2:41000"))

  let start = ContinuousClock().now

  func started() -> PeerLinkStateMachine {
    var machine = PeerLinkStateMachine(session: PeerSession(role: .controlling, configuration: SessionConfiguration(), seed: 7))
    let actions = machine.handle(.start(unixNanoseconds: 1_700_000_000_000_000_000), now: start)
    // The session asks for its first agent at once; the link makes it.
    #expect(actions.contains { if case .session(.createAgent) = $0 { true } else { false } })
    #expect(machine.agentCreated() == 1)
    return machine
  }

  func selections(_ actions: [PeerLinkStateMachine.Action]) -> [PeerLinkStateMachine.Action] {
    actions.filter { if case .selected = $0 { true } else { false } }
  }

  @Test("an agent's first selection is not a switch, its next one is, and a new agent starts afresh")
  func switchesCountWithinOneAgent() {
    var machine = started()
    #expect(machine.handle(.agentEvent(.selectedPairChanged(Self.relayed), driverSerial: 1), now: start) == [.selected(Self.relayed, switched: false)])
    #expect(machine.pathSwitches == 0 && machine.lastSwitch == nil)
    let later = start + .seconds(3)
    #expect(machine.handle(.agentEvent(.selectedPairChanged(Self.direct), driverSerial: 1), now: later) == [.selected(Self.direct, switched: true)])
    #expect(machine.pathSwitches == 1 && machine.lastSwitch == later)

    #expect(machine.agentCreated() == 2)
    #expect(machine.handle(.agentEvent(.selectedPairChanged(Self.direct), driverSerial: 2), now: later) == [.selected(Self.direct, switched: false)])
    #expect(machine.pathSwitches == 1)
  }

  @Test("a replaced agent's late events change nothing")
  func replacedAgentIsIgnored() {
    var machine = started()
    #expect(machine.agentCreated() == 2)
    let before = machine.session.state
    #expect(machine.handle(.agentEvent(.selectedPairChanged(Self.direct), driverSerial: 1), now: start).isEmpty)
    #expect(machine.handle(.agentEvent(.stateChanged(.failed), driverSerial: 1), now: start).isEmpty)
    #expect(machine.handle(.agentEvent(.renominationIgnored(kept: Self.direct), driverSerial: 1), now: start).isEmpty)
    #expect(machine.session.state == before)
    #expect(!machine.peerIgnoresRenomination)
  }

  @Test("the peer ignoring a renomination is reported once, and it no longer counts as following")
  func renominationIgnoredOnce() {
    var machine = started()
    let event = PeerLinkStateMachine.Input.agentEvent(.renominationIgnored(kept: Self.relayed), driverSerial: 1)
    #expect(machine.handle(event, now: start) == [.peerIgnoresRenomination(kept: Self.relayed)])
    #expect(machine.handle(event, now: start).isEmpty)
    #expect(machine.peerIgnoresRenomination && !machine.peerFollowsRenomination)
  }
}

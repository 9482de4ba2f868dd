import Testing
import WarrenDaemon
import WarrenICE
import WarrenPrimitives

@Suite struct DataPathChoiceTests {
  static func candidate(_ type: CandidateType, _ text: String, base: String? = nil) -> Candidate {
    Candidate(type: type, address: TransportAddress(parsing: text)!, base: base.flatMap { TransportAddress(parsing: $0) })
  }

  static let direct = CandidatePair(
    local: candidate(.serverReflexive, "198.51.100.2:40000", base: "10.1.0.2:40000"), remote: candidate(.peerReflexive, "203.0.113.2:41000"))
  static let relayedLocal = CandidatePair(
    local: candidate(.relay, "198.51.100.1:49152"), remote: candidate(.host, "203.0.113.2:41000"))
  static let relayedRemote = CandidatePair(
    local: candidate(.host, "10.1.0.2:40000"), remote: candidate(.relay, "198.51.100.1:49153"))

  @Test func directPairsTakeTheKernelPathWhenNFTablesWorks() {
    for mode in [DataPathMode.auto, .kernel] {
      let choice = DataPathChoice(mode: mode, pair: Self.direct, kernelUnavailable: nil)
      #expect(choice == DataPathChoice(path: .kernel, reason: "the selected pair is direct (srflx to prflx)"))
    }
  }

  @Test func relayedPairsTakeTheUserspacePathWhicheverSideRelays() {
    for pair in [Self.relayedLocal, Self.relayedRemote] {
      let choice = DataPathChoice(mode: .auto, pair: pair, kernelUnavailable: nil)
      #expect(choice.path == .userspace)
      #expect(choice.reason == "the selected pair is relayed (TURN framing needs the userspace proxy)")
    }
  }

  @Test func withoutNFTablesOrWhenToldSoTheUserspacePathSaysWhy() {
    let unavailable = DataPathChoice(mode: .auto, pair: Self.direct, kernelUnavailable: "nftables refused: Operation not permitted")
    #expect(unavailable == DataPathChoice(path: .userspace, reason: "the kernel path is unavailable: nftables refused: Operation not permitted"))
    let told = DataPathChoice(mode: .userspace, pair: Self.direct, kernelUnavailable: nil)
    #expect(told == DataPathChoice(path: .userspace, reason: "data_path: userspace"))
  }
}

import Testing
@testable import WarrenDaemon
import WarrenICE
import WarrenNFTables
import WarrenPrimitives
import WarrenWireGuard

/// The order of a data-path switch (docs/wireguard.md, "Switching"), with the nftables table and
/// WireGuard replaced by a log of what was asked of them.
@Suite struct DataPathSwitchTests {
  static let proxy = TransportAddress(parsing: "127.0.0.1:40100")!
  static let direct = DataPathChoiceTests.direct
  static let relayed = DataPathChoiceTests.relayedLocal

  final class Log: Sendable {
    let steps = Locked<[String]>([])
    let refuse: Bool
    init(refuse: Bool = false) { self.refuse = refuse }

    var change: DataPathSwitch {
      DataPathSwitch(
        redirect: { (redirect) throws(NFTablesError) in
          if self.refuse && redirect != nil { throw NFTablesError(.refused, "Operation not permitted") }
          self.steps.withLock { $0.append(redirect.map { "redirect \($0)" } ?? "no redirect") }
        },
        pointWireGuard: { endpoint in self.steps.withLock { $0.append("endpoint \(endpoint)") } })
    }
  }

  func move(_ log: Log, over pair: CandidatePair, mode: DataPathMode = .auto) async throws -> DataPathSwitch.Outcome {
    try await log.change.move(
      over: pair, choice: DataPathChoice(mode: mode, pair: pair, kernelUnavailable: nil), proxy: Self.proxy, wireGuardPort: 51820,
      peer: "wg0:abc")
  }

  @Test func toTheKernelPathTheRedirectionComesBeforeTheEndpoint() async throws {
    let log = Log()
    let outcome = try await move(log, over: Self.direct)
    #expect(outcome.choice.path == .kernel && outcome.staleRedirect == nil)
    #expect(log.steps.withLock { $0 } == [
      "redirect 203.0.113.2:41000 <-> 10.1.0.2:40000 <-> WireGuard :51820", "endpoint 203.0.113.2:41000",
    ])
  }

  @Test func toTheUserspacePathTheEndpointComesBeforeTheRedirectionGoes() async throws {
    let log = Log()
    let outcome = try await move(log, over: Self.relayed)
    #expect(outcome.choice.path == .userspace)
    #expect(log.steps.withLock { $0 } == ["endpoint 127.0.0.1:40100", "no redirect"])
  }

  @Test func aRefusedTransactionFallsBackToTheProxyAndSaysWhy() async throws {
    let log = Log(refuse: true)
    let outcome = try await move(log, over: Self.direct)
    #expect(outcome.choice == DataPathChoice(path: .userspace, reason: "the kernel path is unavailable: nftables refused: Operation not permitted"))
    #expect(log.steps.withLock { $0 } == ["endpoint 127.0.0.1:40100", "no redirect"])
  }

  @Test func dataPathUserspaceNeverRedirects() async throws {
    let log = Log()
    let outcome = try await move(log, over: Self.direct, mode: .userspace)
    #expect(outcome.choice == DataPathChoice(path: .userspace, reason: "data_path: userspace"))
    #expect(log.steps.withLock { $0 } == ["endpoint 127.0.0.1:40100", "no redirect"])
  }
}

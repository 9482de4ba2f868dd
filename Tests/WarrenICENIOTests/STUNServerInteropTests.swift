import Foundation
import Logging
import Testing
import WarrenICE
import WarrenICENIO
import WarrenSTUN
import WarrenPrimitives
import WarrenTestSupport

/// Server-reflexive gathering against a real STUN server (coturn, started by CI on
/// `$WARREN_STUN_SERVER`). On loopback the mapped address is the socket's own address.
@Suite("STUN gathering against coturn (interop)", .enabled(if: ProcessInfo.processInfo.environment["WARREN_STUN_SERVER"] != nil))
struct STUNServerInteropTests {
  @Test("coturn reports the socket's address", .timeLimit(.scaled(minutes: 1)))
  func gather() async throws {
    let server = ProcessInfo.processInfo.environment["WARREN_STUN_SERVER"]!
    let address = TransportAddress(parsing: server)!
    var random = SystemRandomNumberGenerator()
    let driver = ICEDriver(
      agent: ICEAgent(role: .controlling, localCredentials: .random(using: &random), seed: 1),
      logger: Logger(label: "warren.interop.stun"))
    let hosts = try await driver.bindHostCandidates([TransportAddress.IP("127.0.0.1")!])
    let reflexive = await driver.gatherServerReflexive(server: address)
    #expect(reflexive.count == 1)
    #expect(reflexive.first?.address == hosts.first?.address)
    #expect(reflexive.first?.base == hosts.first?.address)
    print("stun-gathering: coturn mapped \(hosts[0].address) to \(reflexive.first.map { "\($0.address)" } ?? "nothing")")
    // Nobody listens on this port: nothing comes back, and nothing is gathered.
    let silent = await driver.gatherServerReflexive(server: TransportAddress(ip: TransportAddress.IP("127.0.0.1")!, port: 9), timeout: .milliseconds(100), attempts: 2)
    #expect(silent.isEmpty)
    await driver.close()
  }
}

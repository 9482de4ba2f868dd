import Foundation
import Logging
import Testing
import WarrenICE
import WarrenICENIO
import WarrenPrimitives
import WarrenTestSupport

/// Warren's half of the ICE interop check (Interop/ice/run.sh): credentials and candidates are
/// exchanged through files in `$WARREN_ICE_EXCHANGE_DIR`, then both agents connect over real
/// sockets on 127.0.0.1 and exchange one datagram each way. Runs only under that script.
@Suite("ICE interop peer", .enabled(if: ProcessInfo.processInfo.environment["WARREN_ICE_EXCHANGE_DIR"] != nil))
struct ICEInteropPeer {
  struct Description: Codable {
    struct Entry: Codable {
      var ip: String
      var port: Int
      var priority: UInt32
      var foundation: String
      var type: String
    }
    var ufrag: String
    var pwd: String
    var candidates: [Entry]
  }

  @Test("connect to the independent agent and exchange datagrams", .timeLimit(.scaled(minutes: 1)))
  func connect() async throws {
    let environment = ProcessInfo.processInfo.environment
    let directory = URL(fileURLWithPath: environment["WARREN_ICE_EXCHANGE_DIR"]!)
    let role: ICERole = environment["WARREN_ICE_ROLE"] == "controlled" ? .controlled : .controlling
    var random = SystemRandomNumberGenerator()
    let credentials = ICECredentials.random(using: &random)
    let driver = ICEDriver(
      agent: ICEAgent(role: role, localCredentials: credentials, seed: random.next()),
      logger: Logger(label: "warren.interop.ice"))
    let candidates = try await driver.bindHostCandidates([TransportAddress.IP("127.0.0.1")!])
    let ours = Description(
      ufrag: credentials.ufrag, pwd: credentials.pwd,
      candidates: candidates.map {
        .init(ip: "\($0.address.ip)", port: Int($0.address.port), priority: $0.priority, foundation: $0.foundation, type: "host")
      })
    try JSONEncoder().encode(ours).write(to: directory.appendingPathComponent("warren.json.tmp"))
    try FileManager.default.moveItem(
      at: directory.appendingPathComponent("warren.json.tmp"), to: directory.appendingPathComponent("warren.json"))

    let peerFile = directory.appendingPathComponent("peer.json")
    var waited = 0
    while !FileManager.default.fileExists(atPath: peerFile.path), waited < 300 {
      try await Task.sleep(for: .milliseconds(100))
      waited += 1
    }
    let peer = try JSONDecoder().decode(Description.self, from: Data(contentsOf: peerFile))
    let started = ContinuousClock.now
    driver.setRemoteCredentials(ICECredentials(ufrag: peer.ufrag, pwd: peer.pwd))
    for entry in peer.candidates {
      guard let ip = TransportAddress.IP(entry.ip) else { continue }
      driver.addRemoteCandidate(Candidate(
        type: .host, address: TransportAddress(ip: ip, port: UInt16(entry.port)), priority: entry.priority,
        foundation: entry.foundation))
    }
    var selected = false
    var received: [UInt8]?
    for await event in driver.events {
      switch event {
      case .selectedPairChanged(let pair):
        if !selected { print("warren (\(role)): connected in \(ContinuousClock.now - started) over \(pair)") }
        selected = true
        driver.send(Array("warren-hello".utf8))
      case .data(let bytes, _):
        received = bytes
      default:
        break
      }
      if selected && received != nil { break }
    }
    #expect(selected)
    #expect(received == Array((environment["WARREN_ICE_PEER_GREETING"] ?? "aioice-hello").utf8))
    // Give the last datagram time to reach aioice before the sockets close.
    for _ in 0..<10 {
      driver.send(Array("warren-hello".utf8))
      try await Task.sleep(for: .milliseconds(50))
    }
    await driver.close()
  }
}

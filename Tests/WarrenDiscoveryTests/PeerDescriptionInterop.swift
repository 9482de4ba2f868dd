import Foundation
import SwiftProtobuf
import Testing
import WarrenArgon2
import WarrenCrypto
import WarrenDiscovery
import WarrenPrimitives
import WarrenWire

/// The Swift half of the peer-discovery wire check (Interop/pdisc/wire.py): opens Python's
/// envelopes with the community key Warren derives from the same passphrase, checks each
/// announcement as a receiver does, and seals Warren's own for Python to parse. Runs only when
/// `$WARREN_PDISC_CASES` and `$WARREN_PDISC_RESULTS` are set (CI's interop stage).
@Suite("peer discovery wire check against Python", .enabled(if: ProcessInfo.processInfo.environment["WARREN_PDISC_CASES"] != nil))
struct PeerDescriptionInterop {
  struct Cases: Decodable {
    struct Case: Decodable {
      let envelope: String
      let expect: String
      let change: String?
      let name: String?
      let key: String?
      let new_key: String?
      let allowed_ips: [String]?
      let hosts: [String: [String]]?
    }
    let passphrase: String
    let community_public: String
    let cases: [Case]
  }

  struct Results: Encodable {
    struct Made: Encodable {
      let label: String
      let envelope: String
      let expect: [String: Value]
    }
    struct Checked: Encodable {
      let index: Int
      let ok: Bool
      let detail: String
    }
    enum Value: Encodable {
      case text(String?)
      case list([String])
      case map([String: [String]])
      func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .list(let list): try container.encode(list)
        case .map(let map): try container.encode(map)
        }
      }
    }
    let community_public: String
    let cases: [Made]
    let python_cases: [Checked]
  }

  @Test("Python's announcements are taken or refused as a receiver must; Warren's are written for Python to read")
  func crossCheck() throws {
    let environment = ProcessInfo.processInfo.environment
    let input = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: URL(fileURLWithPath: environment["WARREN_PDISC_CASES"]!)))
    let community = try CommunityKey.derive(passphrase: input.passphrase)
    #expect(community.publicKey.base64 == input.community_public)
    let sealer = EnvelopeSealer()
    var checked: [Results.Checked] = []
    for (index, testCase) in input.cases.enumerated() {
      let envelope = try Cunicu_Signaling_Envelope(serializedBytes: [UInt8](Data(base64Encoded: testCase.envelope)!))
      let opened = try sealer.open(envelope, as: community)
      var detail: String
      var ok: Bool
      do {
        let announcement = try Announcement(checking: opened.message.peer, sender: opened.sender)
        let hosts = announcement.hosts.mapValues { $0.map(\.description) }
        detail = "accepted \(announcement.change) \(announcement.name) \(announcement.allowedIPs) \(hosts)"
        ok = testCase.expect == "accepted" && "\(announcement.change)" == testCase.change && announcement.name == testCase.name
          && announcement.key.base64 == testCase.key && announcement.newKey?.base64 == testCase.new_key
          && announcement.allowedIPs.map(\.description) == testCase.allowed_ips && hosts == testCase.hosts
      } catch {
        detail = "refused: \(error)"
        ok = error.reason.rawValue == testCase.expect
      }
      #expect(ok, "case \(index): \(detail)")
      checked.append(.init(index: index, ok: ok, detail: detail))
    }

    let alice = PrivateKey.generate(), bob = PrivateKey.generate(), bobNew = PrivateKey.generate()
    var build = Cunicu_BuildInfo()
    build.version = "warren-interop"
    func made(_ label: String, _ announcement: Announcement, sealedBy sender: PrivateKey) throws -> Results.Made {
      var message = Cunicu_Signaling_Message()
      message.peer = announcement.description(buildInfo: build)
      let envelope = try sealer.seal(message, keys: KeyPair(ours: sender, theirs: community.publicKey))
      let bytes: [UInt8] = try envelope.serializedBytes()
      return .init(
        label: label, envelope: Data(bytes).base64EncodedString(),
        expect: [
          "change": .text("\(announcement.change)"), "name": .text(announcement.name), "key": .text(announcement.key.base64),
          "new_key": .text(announcement.newKey?.base64), "allowed_ips": .list(announcement.allowedIPs.map(\.description)),
          "hosts": .map(announcement.hosts.mapValues { $0.map { $0.bytes.map { String("0\(String($0, radix: 16))".suffix(2)) }.joined() } }),
          "sender": .text(sender.publicKey.base64), "build_version": .text("warren-interop"),
        ])
    }
    let hosts = ["alice.mesh": [TransportAddress.IP("10.99.0.1")!, TransportAddress.IP("fd00::1")!]]
    let cases = [
      try made(
        "ADD with hosts",
        Announcement(change: .add, name: "alice", key: alice.publicKey, allowedIPs: [IPPrefix("10.99.0.1/32")!, IPPrefix("fd00::1/128")!], hosts: hosts),
        sealedBy: alice),
      try made(
        "UPDATE with public_key_new",
        Announcement(change: .update, name: "bob", key: bob.publicKey, newKey: bobNew.publicKey, allowedIPs: [IPPrefix("10.99.0.2/32")!]),
        sealedBy: bobNew),
      try made("REMOVE", Announcement(change: .remove, name: "alice", key: alice.publicKey, allowedIPs: []), sealedBy: alice),
    ]
    let results = Results(community_public: community.publicKey.base64, cases: cases, python_cases: checked)
    try JSONEncoder().encode(results).write(to: URL(fileURLWithPath: environment["WARREN_PDISC_RESULTS"]!))
  }
}

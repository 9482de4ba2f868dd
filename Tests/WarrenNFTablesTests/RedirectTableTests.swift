import Foundation
import Testing
import WarrenNFTables
import WarrenPrimitives

@Suite struct RedirectTableTests {
  static let v4 = PortRedirect(
    local: TransportAddress(parsing: "10.1.0.2:40000")!, remote: TransportAddress(parsing: "198.51.100.7:40001")!,
    wireGuardPort: 51820, peer: "wg0:abc")
  static let v6 = PortRedirect(
    local: TransportAddress(parsing: "[2001:db8::1]:40002")!, remote: TransportAddress(parsing: "[2001:db8::2]:40003")!,
    wireGuardPort: 51821, peer: "wg1:def")

  static let header =
    #"{"nftables":[{"add":{"table":{"family":"inet","name":"warren"}}},{"delete":{"table":{"family":"inet","name":"warren"}}},"#
    + #"{"add":{"table":{"family":"inet","name":"warren"}}},"#
    + #"{"add":{"chain":{"family":"inet","table":"warren","name":"prerouting","type":"filter","hook":"prerouting","prio":-300,"policy":"accept"}}},"#
    + #"{"add":{"chain":{"family":"inet","table":"warren","name":"output","type":"filter","hook":"output","prio":-300,"policy":"accept"}}}"#

  @Test func ipv4RulesInBothDirections() {
    let expected = Self.header
      + #",{"add":{"rule":{"family":"inet","table":"warren","chain":"prerouting","comment":"wg0:abc","expr":["#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"198.51.100.7"}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"10.1.0.2"}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"sport"}},"right":40001}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":40000}},"#
      + #"{"match":{"op":"!=","left":{"payload":{"base":"th","offset":96,"len":32}},"right":554869826}},"#
      + #"{"notrack":null},"#
      + #"{"mangle":{"key":{"payload":{"protocol":"udp","field":"dport"}},"value":51820}}]}}},"#
      + #"{"add":{"rule":{"family":"inet","table":"warren","chain":"output","comment":"wg0:abc","expr":["#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"198.51.100.7"}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"sport"}},"right":51820}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":40001}},"#
      + #"{"notrack":null},"#
      + #"{"mangle":{"key":{"payload":{"protocol":"udp","field":"sport"}},"value":40000}}]}}}]}"#
    #expect(RedirectTable.replace(with: [Self.v4]) == expected)
  }

  @Test func ipv6RulesInBothDirections() {
    let expected = Self.header
      + #",{"add":{"rule":{"family":"inet","table":"warren","chain":"prerouting","comment":"wg1:def","expr":["#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":"2001:db8::2"}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":"2001:db8::1"}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"sport"}},"right":40003}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":40002}},"#
      + #"{"match":{"op":"!=","left":{"payload":{"base":"th","offset":96,"len":32}},"right":554869826}},"#
      + #"{"notrack":null},"#
      + #"{"mangle":{"key":{"payload":{"protocol":"udp","field":"dport"}},"value":51821}}]}}},"#
      + #"{"add":{"rule":{"family":"inet","table":"warren","chain":"output","comment":"wg1:def","expr":["#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":"2001:db8::2"}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"sport"}},"right":51821}},"#
      + #"{"match":{"op":"==","left":{"payload":{"protocol":"udp","field":"dport"}},"right":40003}},"#
      + #"{"notrack":null},"#
      + #"{"mangle":{"key":{"payload":{"protocol":"udp","field":"sport"}},"value":40002}}]}}}]}"#
    #expect(RedirectTable.replace(with: [Self.v6]) == expected)
  }

  @Test func noRedirectsLeaveAnEmptyTableAndRemovalDeletesIt() {
    #expect(RedirectTable.replace(with: []) == Self.header + "]}")
    #expect(
      RedirectTable.remove()
        == #"{"nftables":[{"add":{"table":{"family":"inet","name":"warren"}}},{"delete":{"table":{"family":"inet","name":"warren"}}}]}"#)
  }

  @Test func rulesAreOrderedByPeerAndCommentsAreEscaped() throws {
    var odd = Self.v4
    odd.peer = "a \"quoted\" name"
    let text = RedirectTable.replace(with: [Self.v6, odd])
    let quoted = try #require(text.range(of: #""comment":"a \"quoted\" name""#))
    let other = try #require(text.range(of: #""comment":"wg1:def""#))
    #expect(quoted.lowerBound < other.lowerBound)
    // Well-formed JSON, whatever the names.
    #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(text.utf8)) }
  }

  /// nftables itself accepts the transaction (`nft --check`: parsed and evaluated against the
  /// running kernel, nothing committed). Needs root and the `nft` command.
  @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")))
  func nftablesAcceptsTheTransaction() throws {
    for text in [RedirectTable.replace(with: [Self.v4, Self.v6]), RedirectTable.remove()] {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
      process.arguments = ["--check", "--json", "-f", "-"]
      let input = Pipe(), errors = Pipe()
      process.standardInput = input
      process.standardError = errors
      try process.run()
      input.fileHandleForWriting.write(Data(text.utf8))
      try input.fileHandleForWriting.close()
      process.waitUntilExit()
      let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      #expect(process.terminationStatus == 0, "nft refused: \(message)")
    }
  }
}

@Suite struct NFTablesLibraryTests {
  @Test func aMissingLibraryIsReportedAsUnavailable() {
    #expect {
      _ = try NFTables(library: "libnftables-not-here.so.9")
    } throws: { error in
      let error = error as? NFTablesError
      return error?.code == .unavailable && error?.message.contains("libnftables-not-here.so.9") == true
    }
  }

  /// libnftables answers a read-only JSON command with JSON. Needs root and libnftables.
  @Test(.enabled(if: getuid() == 0 && (try? NFTables()) != nil))
  func listsTablesAsJSON() throws {
    let nft = try NFTables()
    let answer = try nft.execute(#"{"nftables":[{"list":{"tables":null}}]}"#)
    let object = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
    #expect(object?["nftables"] is [Any])
    #expect {
      try nft.execute(#"{"nftables":[{"list":{"table":{"family":"inet","name":"warren-no-such-table"}}}]}"#)
    } throws: { ($0 as? NFTablesError)?.code == .refused }
  }
}

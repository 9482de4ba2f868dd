import WarrenPrimitives
import Testing
import WarrenSTUN

@Suite("STUN and TURN URIs (RFC 7064, RFC 7065)")
struct STUNURITests {
  @Test("the forms of RFC 7064/7065, default ports, cunicu's credentials, the caller's parameters")
  func forms() throws {
    let stun = try STUNURI("stun:stun.example.net")
    #expect(stun.scheme == .stun && stun.host == "stun.example.net" && stun.port == 3478 && stun.explicitPort == nil)
    let turns = try STUNURI("turns:[2001:db8::1]")
    #expect(turns.host == "2001:db8::1" && turns.port == 5349 && turns.scheme.isSecure && turns.scheme.isTURN)
    let turn = try STUNURI("TURN:al%69ce:pa%40ss@198.51.100.7:3480?transport=TCP&secret=s", parameters: ["secret"])
    #expect(turn.scheme == .turn && turn.username == "alice" && turn.password == "pa@ss")
    #expect(turn.host == "198.51.100.7" && turn.port == 3480 && turn.transport == .tcp && turn.parameter("secret") == "s")
    #expect(try STUNURI("turn:bob@h").password == nil)
  }

  @Test("what is wrong is said, quoting the URI", arguments: [
    ("http://x", "expected stun:, stuns:, turn: or turns:"),
    ("stun://h", "no '//' after 'stun:'"),
    ("stun:", "no host"),
    ("stun:h:0", "port must be 1-65535, got '0'"),
    ("stun:[2001:db8::1", "unclosed '['"),
    ("stun:[::1]x", "expected ':PORT' after ']'"),
    ("stun:h?transport=udp", "transport applies to turn: and turns: only"),
    ("turn:h?transport=sctp", "transport must be udp or tcp, got 'sctp'"),
    ("turn:h?ttl=1h", "unknown parameter 'ttl' (known: transport)"),
    ("stun:u:p@h", "credentials (user:pass@) apply to turn: and turns: only"),
    ("turn:%zz:p@h", "malformed %-escape"),
  ])
  func errors(text: String, reason: String) {
    #expect {
      try STUNURI(text)
    } throws: { error in
      guard let error = error as? STUNError else { return false }
      return error.code == .invalidURI && error.message.hasPrefix("'\(text)': ") && error.message.contains(reason)
    }
  }
}

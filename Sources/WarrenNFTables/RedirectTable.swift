internal import WarrenPrimitives

/// Warren's own nftables table (`inet warren`) as libnftables JSON commands (libnftables-json(5)).
///
/// Every change replaces the whole table in one transaction — add it (so that deleting cannot
/// fail), delete it, create it again with every peer's rules — so the kernel never sees half a
/// change and nothing of an earlier run survives. Two chains at `raw` priority (-300), before
/// connection tracking: redirected datagrams are `notrack`, so no conntrack entry of the ICE
/// socket's flow is disturbed.
public enum RedirectTable {
  public static let family = "inet"
  public static let name = "warren"
  /// The STUN magic cookie (RFC 8489 §5), the 32-bit word at UDP payload offset 4: a datagram
  /// that carries it is for Warren's ICE agent (checks, consent, probes) and is not redirected.
  public static let stunMagicCookie: UInt32 = 0x2112_A442
  /// `raw` priority: before conntrack (-200) and before any NAT.
  public static let priority = -300

  /// One transaction that leaves exactly `redirects` in Warren's table (an empty table when there
  /// are none), whatever was there before.
  public static func replace(with redirects: [PortRedirect]) -> String {
    var commands: [JSON] = [
      .object([("add", tableObject)]),
      .object([("delete", tableObject)]),
      .object([("add", tableObject)]),
      .object([("add", chain("prerouting", hook: "prerouting"))]),
      .object([("add", chain("output", hook: "output"))]),
    ]
    for redirect in redirects.sorted(by: { $0.peer < $1.peer }) {
      commands.append(.object([("add", rule("prerouting", inbound(redirect), comment: redirect.peer))]))
      commands.append(.object([("add", rule("output", outbound(redirect), comment: redirect.peer))]))
    }
    return JSON.object([("nftables", .array(commands))]).text
  }

  /// One transaction that removes Warren's table if it exists (at start, after a crash, and at
  /// shutdown).
  public static func remove() -> String {
    JSON.object([("nftables", .array([.object([("add", tableObject)]), .object([("delete", tableObject)])]))]).text
  }

  /// The inbound rule's statements: from the remote candidate to the ICE socket, not STUN.
  static func inbound(_ redirect: PortRedirect) -> [JSON] {
    [
      match(address(redirect.remote.ip, "saddr"), .string("\(redirect.remote.ip)")),
      match(address(redirect.local.ip, "daddr"), .string("\(redirect.local.ip)")),
      match(udp("sport"), .number(Int(redirect.remote.port))),
      match(udp("dport"), .number(Int(redirect.local.port))),
      match(.object([("payload", .object([("base", .string("th")), ("offset", .number(96)), ("len", .number(32))]))]),
        .number(Int(stunMagicCookie)), op: "!="),
      .object([("notrack", .null)]),
      mangle(udp("dport"), Int(redirect.wireGuardPort)),
    ]
  }

  /// The outbound rule's statements: from WireGuard's port to the remote candidate.
  static func outbound(_ redirect: PortRedirect) -> [JSON] {
    [
      match(address(redirect.remote.ip, "daddr"), .string("\(redirect.remote.ip)")),
      match(udp("sport"), .number(Int(redirect.wireGuardPort))),
      match(udp("dport"), .number(Int(redirect.remote.port))),
      .object([("notrack", .null)]),
      mangle(udp("sport"), Int(redirect.local.port)),
    ]
  }

  private static var tableObject: JSON {
    .object([("table", .object([("family", .string(family)), ("name", .string(name))]))])
  }

  private static func chain(_ chain: String, hook: String) -> JSON {
    .object([
      ("chain", .object([
        ("family", .string(family)), ("table", .string(name)), ("name", .string(chain)), ("type", .string("filter")),
        ("hook", .string(hook)), ("prio", .number(priority)), ("policy", .string("accept")),
      ]))
    ])
  }

  private static func rule(_ chain: String, _ statements: [JSON], comment: String) -> JSON {
    .object([
      ("rule", .object([
        ("family", .string(family)), ("table", .string(name)), ("chain", .string(chain)),
        ("comment", .string(String(comment.prefix(128)))), ("expr", .array(statements)),
      ]))
    ])
  }

  private static func address(_ ip: TransportAddress.IP, _ field: String) -> JSON {
    let protocolName: String = if case .v4 = ip { "ip" } else { "ip6" }
    return .object([("payload", .object([("protocol", .string(protocolName)), ("field", .string(field))]))])
  }

  private static func udp(_ field: String) -> JSON {
    .object([("payload", .object([("protocol", .string("udp")), ("field", .string(field))]))])
  }

  private static func match(_ left: JSON, _ right: JSON, op: String = "==") -> JSON {
    .object([("match", .object([("op", .string(op)), ("left", left), ("right", right)]))])
  }

  private static func mangle(_ key: JSON, _ value: Int) -> JSON {
    .object([("mangle", .object([("key", key), ("value", .number(value))]))])
  }
}

/// Just enough JSON to write nftables commands, with keys in the order given (so that the text
/// is stable and tests can compare it).
enum JSON {
  case object([(String, JSON)])
  case array([JSON])
  case string(String)
  case number(Int)
  case null

  var text: String {
    switch self {
    case .object(let members): "{" + members.map { "\(JSON.quoted($0.0)):\($0.1.text)" }.joined(separator: ",") + "}"
    case .array(let elements): "[" + elements.map(\.text).joined(separator: ",") + "]"
    case .string(let value): JSON.quoted(value)
    case .number(let value): "\(value)"
    case .null: "null"
    }
  }

  private static func quoted(_ value: String) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

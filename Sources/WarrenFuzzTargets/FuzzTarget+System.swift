internal import WarrenNetlink
internal import WarrenWireGuard

extension FuzzTarget {
  /// One rtnetlink datagram (address and link changes, docs/wireguard.md's network watch).
  static let netlink = FuzzTarget(name: "netlink", summary: "one rtnetlink datagram") { bytes in
    (try? NetlinkMessages.parse(bytes)) == nil ? .refused : .accepted
  }

  /// What a WireGuard implementation answers on its UAPI socket (`get=1`, `set=1`), and what
  /// `wg show dump` prints: the first byte picks which.
  static let uapi = FuzzTarget(name: "uapi", summary: "WireGuard UAPI answers and wg dumps") { bytes in
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    switch bytes.first.map({ $0 % 3 }) {
    case 0: return (try? UAPIMessage.parseGet(text, interface: "wg-fuzz")) == nil ? .refused : .accepted
    case 1: return (try? UAPIMessage.parseSet(text, interface: "wg-fuzz")) == nil ? .refused : .accepted
    case 2: return (try? WGCommandClient.parseDump(text, interface: "wg-fuzz")) == nil ? .refused : .accepted
    default: return .refused
    }
  }
}

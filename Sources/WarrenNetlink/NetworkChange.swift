public import WarrenPrimitives

/// One change to this host's network that the kernel announced over rtnetlink (RFC 3549, Linux's
/// `rtnetlink(7)`): what a connection broker must react to when a laptop leaves Wi-Fi for LTE, a
/// DHCP lease changes the address, or a cable is pulled.
public enum NetworkChange: Hashable, Sendable, CustomStringConvertible {
  /// An address was added to (or changed on) interface `index` (`RTM_NEWADDR`).
  case addressAdded(TransportAddress.IP, interface: Int32)
  /// An address was removed from interface `index` (`RTM_DELADDR`).
  case addressRemoved(TransportAddress.IP, interface: Int32)
  /// Interface `index` (named `name` when the message said) changed state (`RTM_NEWLINK`):
  /// `up` when it is administratively up and has carrier (`IFF_UP` and `IFF_RUNNING`).
  case link(interface: Int32, name: String?, up: Bool)
  /// Interface `index` went away (`RTM_DELLINK`).
  case linkRemoved(interface: Int32, name: String?)
  /// A default route of the main table was added or removed (`RTM_NEWROUTE`/`RTM_DELROUTE` with
  /// a destination prefix of length 0): traffic to the internet may leave another way.
  case defaultRoute(ipv4: Bool, added: Bool)

  public var description: String {
    switch self {
    case .addressAdded(let ip, let index): "address \(ip) added on interface \(index)"
    case .addressRemoved(let ip, let index): "address \(ip) removed from interface \(index)"
    case .link(let index, let name, let up): "interface \(name ?? "\(index)") \(up ? "up" : "down")"
    case .linkRemoved(let index, let name): "interface \(name ?? "\(index)") removed"
    case .defaultRoute(let ipv4, let added): "IPv\(ipv4 ? 4 : 6) default route \(added ? "added" : "removed")"
    }
  }
}

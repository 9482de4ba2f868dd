#if canImport(Glibc)
  internal import Glibc
#elseif canImport(Darwin)
  internal import Darwin
#endif
public import WarrenPrimitives

/// The addresses host candidates are gathered on (RFC 8445 §5.1.1.1): every address of every
/// interface that is up and has carrier, except link-local ones and loopback (unless asked for or named in
/// `include`), filtered by interface name patterns, in the order of RFC 8421's preference (see
/// ``preferred(_:)``). The WireGuard interfaces themselves belong in `exclude`.
public struct InterfaceAddresses: Sendable {
  public struct Entry: Sendable, Hashable {
    public let interface: String
    public let ip: TransportAddress.IP

    public init(interface: String, ip: TransportAddress.IP) {
      self.interface = interface
      self.ip = ip
    }
  }

  /// Glob patterns (`*`, `?`) of interface names to use; `["*"]` uses all.
  public var include: [String] = ["*"]
  /// Glob patterns of interface names never to use.
  public var exclude: [String] = []
  public var ipv4 = true
  public var ipv6 = true
  public var includeLoopback = false

  public init() {}

  /// The matching addresses of this machine, most preferred first (``preferred(_:)``).
  public func list() -> [Entry] {
    var entries: [Entry] = []
    var head: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&head) == 0, let first = head else { return [] }
    defer { freeifaddrs(head) }
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let current = cursor {
      defer { cursor = current.pointee.ifa_next }
      let flags = Int32(current.pointee.ifa_flags)
      // Up and with carrier: a link that lost it (a cable pulled, a veth peer gone) keeps its
      // addresses, but nothing leaves through it.
      guard flags & Int32(IFF_UP) != 0, flags & Int32(IFF_RUNNING) != 0, let address = current.pointee.ifa_addr else { continue }
      let name = String(cString: current.pointee.ifa_name)
      let isLoopback = flags & Int32(IFF_LOOPBACK) != 0
      // Loopback only when asked for, or named by a pattern more specific than "*".
      let named = include.contains { $0 != "*" && InterfaceAddresses.glob($0, matches: name) }
      guard includeLoopback || !isLoopback || named, accepts(name) else { continue }
      // The address bytes sit at offset 4 of sockaddr_in and offset 8 of sockaddr_in6 (after
      // family, port and, for IPv6, the flow label), on Linux and the BSDs alike.
      let raw = UnsafeRawPointer(address)
      switch Int32(address.pointee.sa_family) {
      case AF_INET where ipv4:
        entries.append(Entry(interface: name, ip: TransportAddress.IP(bytes: UnsafeRawBufferPointer(start: raw + 4, count: 4))!))
      case AF_INET6 where ipv6:
        let bytes = Array(UnsafeRawBufferPointer(start: raw + 8, count: 16))
        guard let ip = TransportAddress.IP(bytes: bytes), InterfaceAddresses.precedence(ip) > 0 else { continue }
        entries.append(Entry(interface: name, ip: ip))
      default:
        continue
      }
    }
    return InterfaceAddresses.preferred(entries)
  }

  /// Orders addresses as RFC 8421 §4 asks of a dual-stack agent: IPv6 preferred, and the two
  /// families interleaved, so that a failing family costs the checks of the other one slot each
  /// rather than all of its own first. Within a family, addresses keep RFC 6724 §2.1's
  /// precedence (native IPv6 before 6to4 before Teredo before ULA), then the system's order.
  /// Host candidates take their local preference from this order (earlier is higher), so a
  /// working IPv6 host or server-reflexive pair outranks the IPv4 pair of the same type.
  public static func preferred(_ entries: [Entry]) -> [Entry] {
    func ranked(_ family: [Entry]) -> [Entry] {
      family.enumerated().sorted { (precedence($0.element.ip), -$0.offset) > (precedence($1.element.ip), -$1.offset) }.map(\.element)
    }
    var v6 = ranked(entries.filter { !$0.ip.isIPv4 })[...]
    var v4 = ranked(entries.filter { $0.ip.isIPv4 })[...]
    var order: [Entry] = []
    // The family with the higher precedence leads (IPv6 unless it has only 6to4/ULA/Teredo).
    var sixTurn = (v6.first.map { precedence($0.ip) } ?? 0) >= (v4.first.map { precedence($0.ip) } ?? 0)
    while !v6.isEmpty || !v4.isEmpty {
      if sixTurn, let next = v6.popFirst() { order.append(next) } else if let next = v4.popFirst() { order.append(next) } else if let next = v6.popFirst() { order.append(next) }
      sixTurn.toggle()
    }
    return order
  }

  /// An address's precedence in RFC 6724 §2.1's default policy table (IPv4 as the IPv4-mapped
  /// prefix, 35); 0 for what a host candidate must not use (RFC 8421 §4: link-local,
  /// site-local, IPv4-compatible and IPv4-mapped IPv6 addresses, and the unspecified address).
  /// Loopback (50) is listed only when asked for.
  public static func precedence(_ ip: TransportAddress.IP) -> Int {
    guard case .v6 = ip else { return 35 }
    let b = ip.bytes
    if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return 50 }  // ::1 loopback
    if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return 0 }  // fe80::/10 link-local
    if b[0] == 0xfe && b[1] & 0xc0 == 0xc0 { return 0 }  // fec0::/10 site-local (deprecated)
    if b[0..<10].allSatisfy({ $0 == 0 }) && (b[10..<12] == [0xff, 0xff] || b[10..<12] == [0, 0]) { return 0 }  // ::ffff:0:0/96, ::/96
    if b[0] == 0x20 && b[1] == 0x02 { return 30 }  // 2002::/16 6to4
    if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0 { return 5 }  // 2001::/32 Teredo
    if b[0] & 0xfe == 0xfc { return 3 }  // fc00::/7 unique local
    return 40
  }

  /// Whether an interface name passes the include and exclude patterns.
  public func accepts(_ name: String) -> Bool {
    include.contains { InterfaceAddresses.glob($0, matches: name) }
      && !exclude.contains { InterfaceAddresses.glob($0, matches: name) }
  }

  /// Shell-style matching of `*` and `?`.
  static func glob(_ pattern: String, matches name: String) -> Bool {
    let p = Array(pattern), n = Array(name)
    var (pi, ni, star, mark) = (0, 0, -1, 0)
    while ni < n.count {
      if pi < p.count && (p[pi] == "?" || p[pi] == n[ni]) {
        pi += 1
        ni += 1
      } else if pi < p.count && p[pi] == "*" {
        star = pi
        mark = ni
        pi += 1
      } else if star >= 0 {
        pi = star + 1
        mark += 1
        ni = mark
      } else {
        return false
      }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
  }
}

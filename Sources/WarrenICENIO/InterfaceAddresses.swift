#if canImport(Glibc)
  internal import Glibc
#elseif canImport(Darwin)
  internal import Darwin
#endif
public import WarrenPrimitives

/// The addresses host candidates are gathered on (RFC 8445 §5.1.1.1): every address of every
/// interface that is up, except link-local ones and loopback (unless asked for or named in
/// `include`), filtered by
/// interface name patterns. The WireGuard interfaces themselves belong in `exclude`.
public struct InterfaceAddresses: Sendable {
  public struct Entry: Sendable, Hashable {
    public let interface: String
    public let ip: TransportAddress.IP
  }

  /// Glob patterns (`*`, `?`) of interface names to use; `["*"]` uses all.
  public var include: [String] = ["*"]
  /// Glob patterns of interface names never to use.
  public var exclude: [String] = []
  public var ipv4 = true
  public var ipv6 = true
  public var includeLoopback = false

  public init() {}

  /// The matching addresses of this machine, IPv4 first.
  public func list() -> [Entry] {
    var entries: [Entry] = []
    var head: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&head) == 0, let first = head else { return [] }
    defer { freeifaddrs(head) }
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let current = cursor {
      defer { cursor = current.pointee.ifa_next }
      let flags = Int32(current.pointee.ifa_flags)
      guard flags & Int32(IFF_UP) != 0, let address = current.pointee.ifa_addr else { continue }
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
        guard let ip = TransportAddress.IP(bytes: bytes), !(bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80) else { continue }
        entries.append(Entry(interface: name, ip: ip))
      default:
        continue
      }
    }
    return entries.filter { $0.ip.isIPv4 } + entries.filter { !$0.ip.isIPv4 }
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

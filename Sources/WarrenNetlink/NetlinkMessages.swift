public import WarrenPrimitives

/// Decodes what an rtnetlink socket subscribed to address, link and route notifications reads
/// (`rtnetlink(7)`): one datagram holds one or more messages, each a `struct nlmsghdr` (16 bytes:
/// length, type, flags, sequence, port id) and a payload padded to 4 bytes. Multi-byte fields are
/// in the host's byte order (little-endian on every machine Warren runs on). Messages of other
/// types, and routes of other tables or with a destination, are not changes Warren acts on and
/// yield nothing; anything truncated or inconsistent is a ``NetlinkError``, never a crash.
public enum NetlinkMessages {
  // linux/netlink.h and linux/rtnetlink.h
  static let headerLength = 16
  static let error: UInt16 = 2
  static let newLink: UInt16 = 16, delLink: UInt16 = 17
  static let newAddress: UInt16 = 20, delAddress: UInt16 = 21
  static let newRoute: UInt16 = 24, delRoute: UInt16 = 25
  static let ifaAddress: UInt16 = 1, ifaLocal: UInt16 = 2
  static let iflaName: UInt16 = 3
  static let mainTable: UInt8 = 254, rtaTable: UInt16 = 15
  static let familyIPv4: UInt8 = 2, familyIPv6: UInt8 = 10
  static let iffUp: UInt32 = 0x1, iffRunning: UInt32 = 0x40

  /// The changes in one datagram, in order.
  public static func parse(_ datagram: some Collection<UInt8>) throws(NetlinkError) -> [NetworkChange] {
    let bytes = Array(datagram)
    var changes: [NetworkChange] = []
    var offset = 0
    while offset + headerLength <= bytes.count {
      let length = Int(u32(bytes, offset))
      let type = u16(bytes, offset + 4)
      guard length >= headerLength, offset + length <= bytes.count else {
        throw NetlinkError(.malformed, "a message of \(length) bytes at offset \(offset) in a datagram of \(bytes.count)")
      }
      let payload = bytes[(offset + headerLength)..<(offset + length)]
      if let change = try change(type: type, payload: Array(payload)) { changes.append(change) }
      offset += (length + 3) & ~3
    }
    guard offset >= bytes.count || bytes[offset...].allSatisfy({ $0 == 0 }) else {
      throw NetlinkError(.malformed, "\(bytes.count - offset) bytes after the last message")
    }
    return changes
  }

  private static func change(type: UInt16, payload: [UInt8]) throws(NetlinkError) -> NetworkChange? {
    switch type {
    case newAddress, delAddress:
      // struct ifaddrmsg: family, prefix length, flags, scope, interface index (u32).
      guard payload.count >= 8 else { throw NetlinkError(.malformed, "an address message of \(payload.count) bytes") }
      let family = payload[0]
      let index = Int32(bitPattern: u32(payload, 4))
      let attributes = try self.attributes(payload, from: 8)
      // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS otherwise.
      guard let raw = attributes[ifaLocal] ?? attributes[ifaAddress] else { return nil }
      guard (family == familyIPv4 && raw.count == 4) || (family == familyIPv6 && raw.count == 16),
        let ip = TransportAddress.IP(bytes: raw)
      else {
        throw NetlinkError(.malformed, "an address of \(raw.count) bytes for family \(family)")
      }
      return type == newAddress ? .addressAdded(ip, interface: index) : .addressRemoved(ip, interface: index)
    case newLink, delLink:
      // struct ifinfomsg: family, pad, type (u16), index (i32), flags (u32), change (u32).
      guard payload.count >= 16 else { throw NetlinkError(.malformed, "a link message of \(payload.count) bytes") }
      let index = Int32(bitPattern: u32(payload, 4))
      let flags = u32(payload, 8)
      let name = try attributes(payload, from: 16)[iflaName].map { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if type == delLink { return .linkRemoved(interface: index, name: name) }
      return .link(interface: index, name: name, up: flags & iffUp != 0 && flags & iffRunning != 0)
    case newRoute, delRoute:
      // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags (u32).
      guard payload.count >= 12 else { throw NetlinkError(.malformed, "a route message of \(payload.count) bytes") }
      let family = payload[0]
      let destinationLength = payload[1]
      // Tables above 255 are in RTA_TABLE; the header's byte then says 252 (RT_TABLE_COMPAT).
      let table = try attributes(payload, from: 12)[rtaTable].map { $0.count >= 4 ? u32($0, 0) : 0 } ?? UInt32(payload[4])
      guard destinationLength == 0, table == UInt32(mainTable), family == familyIPv4 || family == familyIPv6 else { return nil }
      return .defaultRoute(ipv4: family == familyIPv4, added: type == newRoute)
    case error:
      return nil  // an acknowledgement; nothing Warren asked for
    default:
      return nil
    }
  }

  /// The route attributes (`struct rtattr`: length u16, type u16, value, padded to 4) from
  /// `offset` to the end; the last one of each type wins.
  private static func attributes(_ payload: [UInt8], from offset: Int) throws(NetlinkError) -> [UInt16: [UInt8]] {
    var result: [UInt16: [UInt8]] = [:]
    var at = offset
    while at + 4 <= payload.count {
      let length = Int(u16(payload, at))
      guard length >= 4, at + length <= payload.count else {
        throw NetlinkError(.malformed, "an attribute of \(length) bytes at offset \(at) in a payload of \(payload.count)")
      }
      result[u16(payload, at + 2) & 0x3fff] = Array(payload[(at + 4)..<(at + length)])
      at += (length + 3) & ~3
    }
    return result
  }

  private static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
    UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
  }

  private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
  }
}

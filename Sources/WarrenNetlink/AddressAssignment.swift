#if canImport(Glibc)
internal import Glibc
#endif
public import WarrenPrimitives

/// Adds an address to a network interface, or removes one, through rtnetlink (`rtnetlink(7)`:
/// RTM_NEWADDR with NLM_F_CREATE | NLM_F_REPLACE, RTM_DELADDR), waiting for the kernel's
/// acknowledgement: what `ip address replace` and `ip address del` do. Needs CAP_NET_ADMIN.
public enum AddressAssignment {
  public enum Operation: Sendable {
    case add, remove
  }

  /// The request, as the kernel reads it (host byte order): a netlink header, an `ifaddrmsg`
  /// (family, prefix length, flags, scope, interface index) and the address as IFA_LOCAL and
  /// IFA_ADDRESS. IPv6 addresses skip duplicate address detection (IFA_F_NODAD: usable at once).
  public static func request(_ operation: Operation, _ address: TransportAddress.IP, length: Int, interfaceIndex: UInt32, sequence: UInt32) -> [UInt8] {
    let bytes = address.bytes
    let attribute = 4 + bytes.count  // already a multiple of 4
    var message: [UInt8] = []
    func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value) { message.append(contentsOf: $0) } }
    append(UInt32(NetlinkMessages.headerLength + 8 + 2 * attribute))
    switch operation {
    case .add:
      append(NetlinkMessages.newAddress)
      // NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE
      append(UInt16(0x1 | 0x4 | 0x100 | 0x400))
    case .remove:
      append(NetlinkMessages.delAddress)
      append(UInt16(0x1 | 0x4))
    }
    append(sequence)
    append(UInt32(0))  // port id: the kernel's
    message.append(address.isIPv4 ? NetlinkMessages.familyIPv4 : NetlinkMessages.familyIPv6)
    message.append(UInt8(length))
    message.append(address.isIPv4 ? 0 : 0x02)  // IFA_F_NODAD
    message.append(0)  // RT_SCOPE_UNIVERSE
    append(interfaceIndex)
    for type in [NetlinkMessages.ifaLocal, NetlinkMessages.ifaAddress] {
      append(UInt16(attribute))
      append(type)
      message.append(contentsOf: bytes)
    }
    return message
  }

  /// The kernel's answer to request `sequence`: `nil` for an acknowledgement, else the errno it
  /// reports.
  static func acknowledgement(_ datagram: [UInt8], sequence: UInt32) throws(NetlinkError) -> CInt? {
    guard datagram.count >= NetlinkMessages.headerLength + 4 else {
      throw NetlinkError(.malformed, "an answer of \(datagram.count) bytes")
    }
    let type = UInt16(datagram[4]) | UInt16(datagram[5]) << 8
    let answered = datagram[8..<12].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    guard type == NetlinkMessages.error, answered == sequence else {
      throw NetlinkError(.malformed, "the answer is of type \(type) for request \(answered), not an acknowledgement of \(sequence)")
    }
    let code = Int32(bitPattern: datagram[16..<20].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    return code == 0 ? nil : -code
  }

  /// Adds `address`/`length` to `interface` (replacing the same address's settings), or removes it.
  public static func perform(_ operation: Operation, _ address: TransportAddress.IP, length: Int, interface: String) throws(NetlinkError) {
    #if os(Linux)
      let index = if_nametoindex(interface)
      guard index != 0 else { throw NetlinkError(.refused, "there is no interface \(interface)") }
      let descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
      guard descriptor >= 0 else { throw NetlinkError(.unavailable, "socket(AF_NETLINK): errno \(errno)") }
      defer { close(descriptor) }
      // An answer that never comes (it always does) must not hang the caller.
      var timeout = timeval(tv_sec: 2, tv_usec: 0)
      setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
      let sequence = UInt32.random(in: 1...UInt32.max)
      let message = request(operation, address, length: length, interfaceIndex: index, sequence: sequence)
      let sent = message.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
      guard sent == message.count else { throw NetlinkError(.unavailable, "send(rtnetlink): errno \(errno)") }
      var answer = [UInt8](repeating: 0, count: 4096)
      let received = answer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
      guard received > 0 else { throw NetlinkError(.unavailable, "no answer from rtnetlink: errno \(errno)") }
      if let code = try acknowledgement(Array(answer[0..<received]), sequence: sequence) {
        let what = operation == .add ? "cannot add \(address)/\(length) to" : "cannot remove \(address)/\(length) from"
        let reason = String(cString: strerror(code))
        throw NetlinkError(.refused, "\(what) \(interface): \(reason)\(code == EPERM ? " (needs CAP_NET_ADMIN)" : "")")
      }
    #else
      throw NetlinkError(.unavailable, "rtnetlink exists on Linux only")
    #endif
  }
}

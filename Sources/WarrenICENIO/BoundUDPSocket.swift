internal import NIOCore
internal import WarrenPrimitives
#if canImport(Glibc)
internal import Glibc
#endif

/// A UDP socket Warren binds itself and then hands to NIO (`DatagramBootstrap.withBoundSocket`),
/// so that it knows the descriptor and can send GSO trains on it (``GSOSender``).
enum BoundUDPSocket {
  /// A non-blocking UDP socket bound to `address` (port 0: any free one), with `SO_REUSEADDR`
  /// as the ICE sockets always had.
  static func bind(_ address: TransportAddress) throws -> CInt {
    let family = address.ip.isIPv4 ? AF_INET : AF_INET6
    let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
    var one: CInt = 1
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
    let result = withSocketAddress(address) { Glibc.bind(descriptor, $0, $1) }
    guard result == 0 else {
      let error = IOError(errnoCode: errno, reason: "bind to \(address)")
      _ = Glibc.close(descriptor)
      throw error
    }
    return descriptor
  }

  /// `address` as the `sockaddr_in` or `sockaddr_in6` the socket calls take.
  static func withSocketAddress<Result>(_ address: TransportAddress, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
    switch address.ip {
    case .v4(let ip):
      var socketAddress = sockaddr_in()
      socketAddress.sin_family = sa_family_t(AF_INET)
      socketAddress.sin_port = address.port.bigEndian
      socketAddress.sin_addr.s_addr = ip.bigEndian
      return withUnsafePointer(to: &socketAddress) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
    case .v6:
      var socketAddress = sockaddr_in6()
      socketAddress.sin6_family = sa_family_t(AF_INET6)
      socketAddress.sin6_port = address.port.bigEndian
      withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.copyBytes(from: address.ip.bytes) }
      return withUnsafePointer(to: &socketAddress) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
      }
    }
  }
}

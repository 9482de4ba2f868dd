public import WarrenPrimitives
#if canImport(Glibc)
internal import Glibc
#endif

/// What the kernel's routing would do, asked without sending anything.
public enum RouteLookup {
  /// The local address the kernel would send from to `remote` from a socket bound to no address
  /// (WireGuard's): a UDP socket connected to `remote` (which sends nothing) and asked its name.
  /// `nil` when there is no route.
  public static func sourceAddress(toward remote: TransportAddress) -> TransportAddress.IP? {
    let family = remote.ip.isIPv4 ? AF_INET : AF_INET6
    let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { return nil }
    defer { _ = Glibc.close(descriptor) }
    guard BoundUDPSocket.withSocketAddress(remote, { Glibc.connect(descriptor, $0, $1) }) == 0 else { return nil }
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let named = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { return nil }
    // The address sits at offset 4 of sockaddr_in and 8 of sockaddr_in6.
    return withUnsafeBytes(of: &storage) { raw in
      family == AF_INET ? TransportAddress.IP(bytes: raw[4..<8]) : TransportAddress.IP(bytes: raw[8..<24])
    }
  }
}

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
#if canImport(Glibc)
internal import Glibc
#endif

/// Lengthens the queue of connections the kernel completes before the server accepts them, for
/// the listening socket on `port`.
///
/// swift-nio listens with a backlog of 128 and grpc-swift-nio-transport offers no way to change
/// it, while a signal server sees waves of daemons connecting at once (a cluster replica's
/// subscribers failing over, a site's hosts booting). Past 128 pending connections the kernel
/// drops SYNs and each client waits a second or more to retransmit: 16,000 subscribers connecting
/// 500 at a time took 31 s, against 8.5 s for cunicu's server (Go listens with the system's
/// `somaxconn`, 4096 here). On Linux `listen` on a socket that already listens only sets its
/// backlog, so the socket is found among the process's descriptors (listening, TCP, bound to
/// `port`) and given the system's maximum, as Go does.
///
/// Returns how many sockets were changed (0 where this is not Linux, or nothing matched).
@discardableResult
func lengthenListenBacklog(port: Int) -> Int {
  #if os(Linux)
  let backlog = systemMaximumBacklog()
  var changed = 0
  for descriptor in openDescriptors() where isTCPListener(descriptor, port: port) {
    if listen(descriptor, backlog) == 0 { changed += 1 }
  }
  return changed
  #else
  return 0
  #endif
}

/// `net.core.somaxconn` (the kernel caps every backlog there), 4096 if it cannot be read.
func systemMaximumBacklog() -> CInt {
  let text = try? String(contentsOfFile: "/proc/sys/net/core/somaxconn", encoding: .utf8)
  return text.flatMap { CInt($0.filter { !$0.isWhitespace }) } ?? 4096
}

#if os(Linux)
/// The process's open descriptors, from /proc/self/fd.
private func openDescriptors() -> [CInt] {
  ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { CInt($0) }
}

/// Whether `descriptor` is a listening TCP socket bound to `port` (IPv4 or IPv6).
private func isTCPListener(_ descriptor: CInt, port: Int) -> Bool {
  var accepting: CInt = 0
  var length = socklen_t(MemoryLayout<CInt>.size)
  guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting == 1 else { return false }
  var type: CInt = 0
  length = socklen_t(MemoryLayout<CInt>.size)
  guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == CInt(SOCK_STREAM.rawValue) else {
    return false
  }
  var address = sockaddr_storage()
  length = socklen_t(MemoryLayout<sockaddr_storage>.size)
  let named = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
  }
  guard named == 0 else { return false }
  let boundPort: UInt16
  switch CInt(address.ss_family) {
  case AF_INET:
    boundPort = withUnsafeBytes(of: address) { $0.load(as: sockaddr_in.self).sin_port }
  case AF_INET6:
    boundPort = withUnsafeBytes(of: address) { $0.load(as: sockaddr_in6.self).sin6_port }
  default:
    return false
  }
  return Int(UInt16(bigEndian: boundPort)) == port
}
#endif

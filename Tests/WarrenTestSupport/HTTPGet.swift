#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A plain HTTP/1.1 GET on 127.0.0.1 over a blocking socket, on a thread of its own: the body, as
/// text. For servers in this process: the blocking I/O must not hold one of the few threads of
/// Swift's cooperative pool, which the server needs to answer (two tests doing that at once on a
/// two-core machine starve every server in the process until the 5-second timeout).
public func httpGet(port: Int, path: String) async throws -> String {
  try await withCheckedThrowingContinuation { continuation in
    Thread {
      continuation.resume(with: Result { try blockingHTTPGet(port: port, path: path) })
    }.start()
  }
}

/// ``httpGet(port:path:)`` on the calling thread: for servers in other processes.
public func blockingHTTPGet(port: Int, path: String) throws -> String {
  let fd = try connectedLoopbackTCP(port: port, receiveTimeout: .seconds(5))
  defer { close(fd) }
  let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
  _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
  var response = [UInt8]()
  var buffer = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if n <= 0 { break }
    response += buffer[0..<n]
  }
  let text = String(decoding: response, as: UTF8.self)
  guard let split = text.range(of: "\r\n\r\n") else { return "" }
  return String(text[split.upperBound...])
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, whose reads give up after
/// `receiveTimeout`; the caller closes it.
public func connectedLoopbackTCP(port: Int, receiveTimeout: Duration) throws -> Int32 {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw POSIXError(.EIO) }
  let (seconds, attoseconds) = receiveTimeout.components
  var wait = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = in_port_t(UInt16(port).bigEndian)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  let connected = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
  }
  guard connected == 0 else {
    close(fd)
    throw POSIXError(.ECONNREFUSED)
  }
  return fd
}

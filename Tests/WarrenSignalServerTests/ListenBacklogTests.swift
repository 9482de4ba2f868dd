#if canImport(Glibc)
import Glibc
import Testing
@testable import WarrenSignalServer

@Suite("the listen backlog")
struct ListenBacklogTests {
  @Test("a listener that accepts nothing queues 2 connections with a backlog of 1, and all 20 once lengthened")
  func lengthened() throws {
    let listener = try Self.listener(backlog: 1)
    defer { close(listener.descriptor) }
    #expect(Self.connectionsCompleted(count: 20, port: listener.port) <= 2)
    #expect(lengthenListenBacklog(port: listener.port + 1) == 0)  // another port: left alone
    #expect(lengthenListenBacklog(port: listener.port) == 1)
    #expect(Self.connectionsCompleted(count: 20, port: listener.port) == 20)
  }

  /// 127.0.0.1:`port` (0: any free port, when bound).
  static func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return address
  }

  /// A TCP socket on 127.0.0.1, a free port, listening with `backlog`, never accepting.
  static func listener(backlog: CInt) throws -> (descriptor: CInt, port: Int) {
    let descriptor = socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
    try #require(descriptor >= 0)
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    try #require(bound && listen(descriptor, backlog) == 0)
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
  }

  /// Starts `count` non-blocking connections to `port` and returns how many complete within
  /// 300 ms (the kernel completes a connection only while the listener's queue has room).
  static func connectionsCompleted(count: Int, port: Int) -> Int {
    var descriptors: [pollfd] = []
    defer { for entry in descriptors { close(entry.fd) } }
    for _ in 0..<count {
      let descriptor = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue), 0)
      var address = loopback(port: port)
      _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      descriptors.append(pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0))
    }
    // poll returns as soon as one is ready: ask again for those still waiting, up to 300 ms.
    var completed = 0
    var waiting = descriptors
    for _ in 0..<30 where !waiting.isEmpty {
      _ = poll(&waiting, nfds_t(waiting.count), 10)
      completed += waiting.filter { $0.revents & Int16(POLLOUT) != 0 }.count
      waiting = waiting.filter { $0.revents & Int16(POLLOUT) == 0 }
    }
    return completed
  }
}
#endif

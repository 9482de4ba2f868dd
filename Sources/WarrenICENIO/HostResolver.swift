#if canImport(Glibc)
  internal import Glibc
#elseif canImport(Darwin)
  internal import Darwin
#endif
internal import NIOPosix
public import WarrenPrimitives

/// Resolves the host of a STUN or TURN URL to addresses (getaddrinfo, off the event loops).
public enum HostResolver {
  public struct Failure: CodedError {
    public let host: String
    public let reason: String
    public var code: ErrorCode<Failure> { ErrorCode("cannot resolve") }
    public var message: String { "'\(host)': \(reason)" }
  }

  /// `host` as an IP literal, or its IPv4 and IPv6 addresses (IPv4 first), each with `port`.
  public static func resolve(_ host: String, port: UInt16) async throws -> [TransportAddress] {
    if let ip = TransportAddress.IP(host) { return [TransportAddress(ip: ip, port: port)] }
    let result: Result<[TransportAddress.IP], Failure> = try await NIOThreadPool.singleton.runIfActive {
      lookup(host)
    }
    let ips = try result.get()
    var seen = Set<TransportAddress.IP>()
    let unique = ips.filter { seen.insert($0).inserted }
    return (unique.filter(\.isIPv4) + unique.filter { !$0.isIPv4 }).map { TransportAddress(ip: $0, port: port) }
  }

  private static func lookup(_ host: String) -> Result<[TransportAddress.IP], Failure> {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, nil, &hints, &list)
    guard status == 0 else { return .failure(Failure(host: host, reason: String(cString: gai_strerror(status)))) }
    defer { freeaddrinfo(list) }
    var ips: [TransportAddress.IP] = []
    var entry = list
    while let current = entry {
      defer { entry = current.pointee.ai_next }
      guard let address = current.pointee.ai_addr else { continue }
      // As in InterfaceAddresses: the address bytes sit at offset 4 (IPv4) or 8 (IPv6).
      let raw = UnsafeRawPointer(address)
      switch current.pointee.ai_family {
      case AF_INET: TransportAddress.IP(bytes: UnsafeRawBufferPointer(start: raw + 4, count: 4)).map { ips.append($0) }
      case AF_INET6: TransportAddress.IP(bytes: UnsafeRawBufferPointer(start: raw + 8, count: 16)).map { ips.append($0) }
      default: continue
      }
    }
    guard !ips.isEmpty else { return .failure(Failure(host: host, reason: "no IPv4 or IPv6 address")) }
    return .success(ips)
  }
}

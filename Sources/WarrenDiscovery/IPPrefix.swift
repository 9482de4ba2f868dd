public import WarrenPrimitives

/// An address with a prefix length, as announced in `allowed_ips` ("10.99.0.1/32", "fd00::/64").
/// Parsing is strict: an address, one slash, a length within the family's bits; the host bits may
/// be set (WireGuard takes "10.99.0.1/24" as 10.99.0.0/24), the text form is canonical.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
  public let address: TransportAddress.IP
  public let length: Int

  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let address = TransportAddress.IP(parts[0]), let length = Int(parts[1]),
      parts[1].allSatisfy(\.isNumber), (0...(address.isIPv4 ? 32 : 128)).contains(length)
    else { return nil }
    self.address = address
    self.length = length
  }

  /// `address` with `length` (within the family's bits).
  public init(_ address: TransportAddress.IP, length: Int) {
    precondition((0...(address.isIPv4 ? 32 : 128)).contains(length), "a prefix length within the address's bits")
    self.address = address
    self.length = length
  }

  /// The whole address: /32 or /128.
  public init(host address: TransportAddress.IP) {
    self.address = address
    length = address.isIPv4 ? 32 : 128
  }

  public var description: String { "\(address)/\(length)" }
}

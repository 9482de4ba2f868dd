public import WarrenPrimitives

/// A datagram the driver must send: from the local base `from` to `to`.
public struct Transmit: Hashable, Sendable, CustomStringConvertible {
  public var from: TransportAddress
  public var to: TransportAddress
  public var bytes: [UInt8]

  public init(from: TransportAddress, to: TransportAddress, bytes: [UInt8]) {
    self.from = from
    self.to = to
    self.bytes = bytes
  }

  public var description: String { "\(from) -> \(to) (\(bytes.count) bytes)" }
}

public import WarrenPrimitives

#if canImport(FoundationEssentials)
  internal import FoundationEssentials
#else
  internal import Foundation
#endif

/// One envelope on the cluster bus: the text of a PostgreSQL notification, `w1 ORIGIN SENT_US
/// BODY` (docs/cluster.md, "Frames").
public struct BusFrame: Sendable, Equatable {
  public enum Body: Sendable, Equatable {
    /// The serialized envelope, sent as base64.
    case inline([UInt8])
    /// The id of the envelope's row in the spill table (an envelope too large to send inline).
    case spilled(Int64)
  }

  /// The publishing replica (random per process).
  public var origin: UInt64
  /// The publisher's wall clock at sending, in microseconds since 1970.
  public var sentAtMicroseconds: Int64
  public var body: Body

  /// PostgreSQL refuses notification payloads of 8000 bytes or more.
  public static let maxPayloadBytes = 7999
  /// The longest header: `w1`, 16 hex digits, an Int64 in decimal, three spaces.
  static let maxHeaderBytes = 2 + 16 + 20 + 3
  /// The largest serialized envelope sent inline: its base64 fits beside the longest header.
  public static let maxInlineEnvelopeBytes = (maxPayloadBytes - maxHeaderBytes) / 4 * 3

  public init(origin: UInt64, sentAtMicroseconds: Int64, body: Body) {
    self.origin = origin
    self.sentAtMicroseconds = sentAtMicroseconds
    self.body = body
  }

  /// The notification payload.
  public var text: String {
    let hex = String(origin, radix: 16)
    let body =
      switch body {
      case .inline(let bytes): Data(bytes).base64EncodedString()
      case .spilled(let id): "@\(id)"
      }
    return "w1 \(String(repeating: "0", count: 16 - hex.count))\(hex) \(sentAtMicroseconds) \(body)"
  }

  /// Reads a notification payload; anything else on the channel is an error that says what is
  /// wrong with it.
  public init(parsing text: String) throws(ClusterError) {
    let fields = text.split(separator: " ", omittingEmptySubsequences: false)
    guard fields.count == 4 else {
      throw ClusterError(.malformedFrame, "expected 4 space-separated fields (w1 ORIGIN SENT_US BODY), got \(fields.count)")
    }
    guard fields[0] == "w1" else { throw ClusterError(.malformedFrame, "unknown frame version '\(fields[0].prefix(16))'") }
    guard fields[1].count == 16, fields[1].allSatisfy(\.isHexDigit), let origin = UInt64(fields[1], radix: 16) else {
      throw ClusterError(.malformedFrame, "origin '\(fields[1].prefix(32))' is not 16 hex digits")
    }
    guard let sent = Int64(fields[2]) else { throw ClusterError(.malformedFrame, "sending time '\(fields[2].prefix(32))' is not an integer") }
    let body = fields[3]
    if body.first == "@" {
      guard let id = Int64(body.dropFirst()), id > 0 else { throw ClusterError(.malformedFrame, "spill row '\(body.prefix(32))' is not a positive integer") }
      self.init(origin: origin, sentAtMicroseconds: sent, body: .spilled(id))
    } else {
      guard !body.isEmpty, let data = Data(base64Encoded: String(body)) else { throw ClusterError(.malformedFrame, "the envelope is not base64") }
      self.init(origin: origin, sentAtMicroseconds: sent, body: .inline(Array(data)))
    }
  }
}

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import GRPCCore
internal import NIOHPACK

/// The header blocks of gRPC responses on HTTP/2 (PROTOCOL-HTTP2.md, "Responses"), and the
/// request metadata the server reads.
enum GRPCStatusHeaders {
  /// A response's headers.
  static let response = HPACKHeaders([(":status", "200"), ("content-type", "application/grpc")])

  /// A response's headers with metadata (`extra`, as `(name, value)`).
  static func response(_ extra: [(String, String)]) -> HPACKHeaders {
    var headers = response
    for (name, value) in extra { headers.add(name: name, value: value, indexing: .nonIndexable) }
    return headers
  }

  /// The trailers of a call that succeeded.
  static let ok = HPACKHeaders([("grpc-status", "0")])

  /// The trailers of a call that failed: with `trailersOnly` (nothing sent on the stream yet) the
  /// response's headers too, in one block.
  static func failure(_ error: RPCError, trailersOnly: Bool) -> HPACKHeaders {
    var headers = trailersOnly ? response : HPACKHeaders()
    headers.add(name: "grpc-status", value: String(error.code.rawValue))
    headers.add(name: "grpc-message", value: percentEncoded(error.message), indexing: .nonIndexable)
    for (name, value) in error.metadata {
      switch value {
      case .string(let text): headers.add(name: name, value: text, indexing: .nonIndexable)
      case .binary(let bytes): headers.add(name: name, value: Data(bytes).base64EncodedString(), indexing: .nonIndexable)
      }
    }
    return headers
  }

  /// A response that is not gRPC at all (wrong method or content type): an HTTP status alone.
  static func http(status: Int) -> HPACKHeaders { HPACKHeaders([(":status", String(status))]) }

  /// `grpc-message`'s encoding: bytes outside printable ASCII, and `%`, as `%XX`.
  static func percentEncoded(_ text: String) -> String {
    var encoded = ""
    encoded.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
      if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
        encoded.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        let hex = String(byte, radix: 16, uppercase: true)
        encoded += byte < 0x10 ? "%0\(hex)" : "%\(hex)"
      }
    }
    return encoded
  }

  /// The bytes of a binary (`-bin`) metadata entry: base64, padded or not (gRPC allows both).
  static func binaryValue(_ headers: HPACKHeaders, name: String) -> [UInt8]? {
    guard var text = headers.first(name: name) else { return nil }
    while text.utf8.count % 4 != 0 { text += "=" }
    return Data(base64Encoded: text).map { Array($0) }
  }
}

import Foundation
import Logging
import WarrenPrimitives

/// `--log-format json`: one JSON object per line on standard error, for log pipelines —
/// `time` (RFC 3339, milliseconds, UTC), `level`, `logger`, `message`, and every metadata key as
/// a field of its own (so `peer`, `key`, `from`, `to` of a session's transition can be filtered
/// on), plus `source`.
struct JSONLogHandler: LogHandler {
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]
  let label: String
  private static let output = Locked(())

  init(label: String) {
    self.label = label
  }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var fields: [(String, String)] = [
      ("time", Self.timestamp()), ("level", event.level.rawValue), ("logger", label), ("message", "\(event.message)"),
    ]
    let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
    for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["time", "level", "logger", "message"].contains(key) {
      fields.append((key, "\(value)"))
    }
    fields.append(("source", event.source))
    let line = "{" + fields.map { "\(Self.quoted($0.0)):\(Self.quoted($0.1))" }.joined(separator: ",") + "}\n"
    Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
  }

  /// A JSON string: quotes, backslashes and control characters escaped.
  static func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }

  private static func timestamp() -> String {
    let milliseconds = WallClock.unixMilliseconds
    var seconds = time_t(milliseconds / 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
      parts.tm_min, parts.tm_sec, Int(milliseconds % 1000))
  }
}

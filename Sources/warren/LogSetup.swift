import ArgumentParser
import Logging

/// The `--log-level` and `--log-format` options shared by the long-running commands.
enum LogSetup {
  static let levels = "trace, debug, info, notice, warning, error or critical"
  static let formats = ["text", "json"]

  /// Rejects a level name swift-log does not know, and an unknown format.
  static func validate(_ name: String, format: String = "text") throws {
    guard Logger.Level(rawValue: name) != nil else { throw ValidationError("--log-level must be \(levels)") }
    guard formats.contains(format) else { throw ValidationError("--log-format must be text or json, got '\(format)'") }
  }

  /// Sends every log line at `name` or above to standard error, as text or as one JSON object per
  /// line (``JSONLogHandler``); returns the command's logger.
  static func bootstrap(level name: String, format: String = "text", label: String) -> Logger {
    let level = Logger.Level(rawValue: name) ?? .info
    LoggingSystem.bootstrap { label in
      if format == "json" {
        var handler = JSONLogHandler(label: label)
        handler.logLevel = level
        return handler
      }
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    return Logger(label: label)
  }
}

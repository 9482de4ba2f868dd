import ArgumentParser
import Logging

/// The `--log-level` option shared by the long-running commands.
enum LogSetup {
  static let levels = "trace, debug, info, notice, warning, error or critical"

  /// Rejects a level name swift-log does not know.
  static func validate(_ name: String) throws {
    guard Logger.Level(rawValue: name) != nil else { throw ValidationError("--log-level must be \(levels)") }
  }

  /// Sends every log line at `name` or above to standard error; returns the command's logger.
  static func bootstrap(level name: String, label: String) -> Logger {
    let level = Logger.Level(rawValue: name) ?? .info
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    return Logger(label: label)
  }
}

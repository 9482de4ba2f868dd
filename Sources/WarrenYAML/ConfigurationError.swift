/// A problem in a configuration file: where it is and what is wrong.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
  public let file: String
  public let line: Int?
  /// The field's path, like `ice.urls` or `users[alice].user.token`; empty for the whole file.
  public let field: String
  public let message: String

  public init(file: String, line: Int?, field: String, message: String) {
    self.file = file
    self.line = line
    self.field = field
    self.message = message
  }

  public var description: String {
    let place = line.map { "\(file):\($0)" } ?? file
    return field.isEmpty ? "\(place): \(message)" : "\(place): \(field): \(message)"
  }
}

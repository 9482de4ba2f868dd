public import WarrenPrimitives

/// A problem in a configuration file: where it is and what is wrong. Described with its place
/// rather than its code (`up.yaml:4: ice.urls: …`), as compilers do.
public struct ConfigurationError: CodedError {
  public typealias Code = ErrorCode<ConfigurationError>
  public let code: Code
  public let file: String
  public let line: Int?
  /// The field's path, like `ice.urls` or `users[alice].user.token`; empty for the whole file.
  public let field: String
  public let message: String

  public init(_ code: Code = .invalid, file: String, line: Int?, field: String, message: String) {
    self.code = code
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

extension ErrorCode where Domain == ConfigurationError {
  /// The file cannot be read (or, for kubeconfig, there is none).
  public static var unreadable: Self { Self("unreadable") }
  /// The file is not YAML.
  public static var notYAML: Self { Self("not YAML") }
  /// A field is missing, unknown or has a value it does not take.
  public static var invalid: Self { Self("invalid") }
}

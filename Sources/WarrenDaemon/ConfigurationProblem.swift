public import WarrenPrimitives

/// What is wrong with one value; the configuration reader adds the file, line and field.
public struct ConfigurationProblem: CodedError {
  public typealias Code = ErrorCode<ConfigurationProblem>
  public var code: Code { .invalidValue }
  public let message: String
  public init(_ message: String) { self.message = message }
}

extension ErrorCode where Domain == ConfigurationProblem {
  /// A value that is not what its field takes (the message says why).
  public static var invalidValue: Self { Self("invalid value") }
}

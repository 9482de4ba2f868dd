public import WarrenPrimitives

/// What is wrong with one value; the configuration reader adds the file, line and field.
public typealias ConfigurationProblem = WarrenError<ConfigurationProblemCodes>

/// The codes of ``ConfigurationProblem``.
public enum ConfigurationProblemCodes {}

extension ErrorCode where Domain == ConfigurationProblemCodes {
  /// A value that is not what its field takes (the message says why).
  public static var invalidValue: Self { Self("invalid value") }
}

extension WarrenError where Codes == ConfigurationProblemCodes {
  /// A value that is not what its field takes, and why.
  public init(_ message: String) { self.init(.invalidValue, message) }
}

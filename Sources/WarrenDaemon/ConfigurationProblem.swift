/// What is wrong with one value; the configuration reader adds the file, line and field.
public struct ConfigurationProblem: Error, Sendable, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The shape of every Warren error: a code to match on, and a message that names the problem
/// (the value, the field, the peer), described as `code: message` in logs.
public protocol CodedError: Error, Sendable, CustomStringConvertible {
  associatedtype Domain
  var code: ErrorCode<Domain> { get }
  var message: String { get }
}

extension CodedError {
  public var description: String { "\(code): \(message)" }
}

/// A code of the errors of one `Domain` (the error type itself): a short name, compared by name.
/// Each error type declares its codes as static members, in a `Domain ==` extension.
public struct ErrorCode<Domain>: Hashable, Sendable, CustomStringConvertible {
  public let name: String

  public init(_ name: String) { self.name = name }

  public var description: String { name }
}

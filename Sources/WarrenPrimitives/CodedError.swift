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

/// A Warren error that is a code and a message, nothing more: one family of codes per `Codes`
/// (an empty enum that names it), so that `catch let error as STUNError` catches STUN's only.
/// Declare a family as `public typealias STUNError = WarrenError<STUNErrorCodes>` and its codes as
/// static members of `ErrorCode where Domain == STUNErrorCodes`.
public struct WarrenError<Codes>: CodedError, Hashable {
  public typealias Code = ErrorCode<Codes>

  public let code: Code
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }
}

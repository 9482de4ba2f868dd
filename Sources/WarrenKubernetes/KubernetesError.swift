public import WarrenPrimitives

/// What the Kubernetes backend throws: a code to match on and a message naming the problem.
public struct KubernetesError: CodedError, Equatable {
  public typealias Code = ErrorCode<KubernetesError>

  public var code: Code
  public var message: String
  /// The HTTP status for ``Code/apiError`` (401, 403, 404, 410, …).
  public var status: Int?

  public init(_ code: Code, _ message: String, status: Int? = nil) {
    self.code = code
    self.message = message
    self.status = status
  }
}

extension ErrorCode where Domain == KubernetesError {
  /// The API server answered with an error status (`status` says which).
  public static var apiError: Self { Self("API error") }
  /// The answer was not what the Kubernetes API sends.
  public static var invalidResponse: Self { Self("invalid response") }
  /// An object is not a well-formed SignalingEnvelope.
  public static var invalidObject: Self { Self("invalid object") }
  /// The API server could not be reached.
  public static var unreachable: Self { Self("unreachable") }
  /// A watch stream broke after it had started.
  public static var interrupted: Self { Self("interrupted") }
  /// The credentials (kubeconfig or service account) are unusable.
  public static var invalidCredentials: Self { Self("invalid credentials") }
}

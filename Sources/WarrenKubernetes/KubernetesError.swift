/// What the Kubernetes backend throws: a code to match on and a message naming the problem.
public struct KubernetesError: Error, Sendable, Equatable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    /// The API server answered with an error status (`status` says which).
    public static let apiError = Code("API error")
    /// The answer was not what the Kubernetes API sends.
    public static let invalidResponse = Code("invalid response")
    /// An object is not a well-formed SignalingEnvelope.
    public static let invalidObject = Code("invalid object")
    /// The API server could not be reached.
    public static let unreachable = Code("unreachable")
    /// A watch stream broke after it had started.
    public static let interrupted = Code("interrupted")
    /// The credentials (kubeconfig or service account) are unusable.
    public static let invalidCredentials = Code("invalid credentials")
  }

  public var code: Code
  public var message: String
  /// The HTTP status for ``Code/apiError`` (401, 403, 404, 410, …).
  public var status: Int?

  public init(_ code: Code, _ message: String, status: Int? = nil) {
    self.code = code
    self.message = message
    self.status = status
  }

  public var description: String { "\(code): \(message)" }
}

internal import Foundation

/// How to reach and authenticate to an API server: what a kubeconfig's current context or a
/// pod's service account gives.
public struct KubernetesConnection: Sendable, Equatable {
  /// `https://host:port` (or `http://` for a server without TLS), without a trailing slash.
  public var server: String
  /// The context's namespace, if it names one.
  public var namespace: String?
  /// How requests prove who they are.
  public var authentication: Authentication
  /// PEM certificates trusted for the server; the system's roots when `nil`.
  public var certificateAuthorityPEM: [UInt8]?
  /// `insecure-skip-tls-verify`: the server's certificate is not checked at all.
  public var insecureSkipTLSVerify = false

  public enum Authentication: Sendable, Equatable {
    case none
    /// `Authorization: Bearer TOKEN`.
    case token(String)
    /// A token read from a file before each request (service account tokens are rotated).
    case tokenFile(String)
    /// A TLS client certificate, PEM.
    case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
  }

  public init(
    server: String, namespace: String? = nil, authentication: Authentication = .none,
    certificateAuthorityPEM: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false
  ) {
    self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
    self.namespace = namespace
    self.authentication = authentication
    self.certificateAuthorityPEM = certificateAuthorityPEM
    self.insecureSkipTLSVerify = insecureSkipTLSVerify
  }

  /// The service account directory every pod has.
  public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

  /// The pod's own service account (wire.md): `KUBERNETES_SERVICE_HOST`/`_PORT`, and the token,
  /// CA certificate and namespace files of `directory`.
  public static func inCluster(
    environment: [String: String]? = nil, directory: String = serviceAccountDirectory
  ) throws(KubernetesError) -> KubernetesConnection {
    let environment = environment ?? ProcessInfo.processInfo.environment
    guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
      let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
    else {
      throw KubernetesError(
        .invalidCredentials, "k8s://incluster needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT: not running in a pod?")
    }
    let tokenPath = "\(directory)/token"
    guard FileManager.default.isReadableFile(atPath: tokenPath) else {
      throw KubernetesError(.invalidCredentials, "k8s://incluster: cannot read the service account token \(tokenPath)")
    }
    let caPath = "\(directory)/ca.crt"
    guard let ca = FileManager.default.contents(atPath: caPath) else {
      throw KubernetesError(.invalidCredentials, "k8s://incluster: cannot read the service account CA \(caPath)")
    }
    let namespace = FileManager.default.contents(atPath: "\(directory)/namespace").flatMap {
      String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let bracketed = host.contains(":") ? "[\(host)]" : host
    return KubernetesConnection(
      server: "https://\(bracketed):\(port)", namespace: namespace?.isEmpty == false ? namespace : nil,
      authentication: .tokenFile(tokenPath), certificateAuthorityPEM: Array(ca))
  }

  /// The `Authorization` header for the next request, if any.
  func authorizationHeader() throws(KubernetesError) -> String? {
    switch authentication {
    case .none, .clientCertificate: return nil
    case .token(let token): return "Bearer \(token)"
    case .tokenFile(let path):
      guard let data = FileManager.default.contents(atPath: path) else {
        throw KubernetesError(.invalidCredentials, "cannot read the token file \(path)")
      }
      return "Bearer \(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))"
    }
  }
}

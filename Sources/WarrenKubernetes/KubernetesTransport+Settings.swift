public import WarrenSignaling
internal import WarrenYAML

extension KubernetesTransport {
  /// The URL's settings.
  public struct Settings: Sendable {
    public enum Source: Sendable, Equatable {
      /// A kubeconfig file; `nil` means the files of `$KUBECONFIG`, merged, or `~/.kube/config`.
      case kubeconfig(String?)
      /// The pod's service account.
      case inCluster
    }

    public var source: Source
    /// The `namespace` parameter; otherwise the context's namespace, otherwise `cunicu`.
    public var namespace: String?
    /// How often old envelopes are deleted (cunicu: every minute); `nil` never.
    public var cleanupInterval: Duration? = .seconds(60)
    /// The age from which envelopes are deleted (cunicu: 10 minutes).
    public var maxAge: Duration = .seconds(600)
    /// How long one watch request lasts before it is renewed (`timeoutSeconds`).
    public var watchTimeout: Duration = .seconds(300)
    /// Waits between attempts after the API server failed.
    public var backoff = ReconnectBackoff(initial: .milliseconds(200), maximum: .seconds(30))

    public init(_ url: BackendURL) throws(SignalingError) {
      try url.checkParameters(["namespace", "cleanup_interval", "max_age", "watch_timeout"])
      if url.host == "incluster" {
        guard url.path.isEmpty || url.path == "/" else {
          throw SignalingError(.invalidURL, "\(url): k8s://incluster takes no path")
        }
        source = .inCluster
      } else if url.host.isEmpty {
        source = .kubeconfig(url.path.isEmpty || url.path == "/" ? nil : url.path)
      } else {
        throw SignalingError(
          .invalidURL,
          "\(url): expected k8s:///path/to/kubeconfig (three slashes), k8s:// for the default kubeconfig, or k8s://incluster")
      }
      if let namespace = url.query["namespace"] {
        guard Self.isName(namespace) else {
          throw SignalingError(.invalidURL, "\(url): namespace '\(namespace)' is not a Kubernetes name (a DNS label)")
        }
        if !namespace.isEmpty { self.namespace = namespace }
      }
      if let text = url.query["cleanup_interval"] {
        cleanupInterval = ["0", "off", "never"].contains(text) ? nil : try Self.duration(text, "cleanup_interval", url)
      }
      if let text = url.query["max_age"] { maxAge = try Self.duration(text, "max_age", url) }
      if let text = url.query["watch_timeout"] {
        watchTimeout = try Self.duration(text, "watch_timeout", url)
        guard watchTimeout >= .seconds(1) else { throw SignalingError(.invalidURL, "\(url): watch_timeout must be at least 1s") }
      }
    }

    private static func duration(_ text: String, _ name: String, _ url: BackendURL) throws(SignalingError) -> Duration {
      guard let duration = YAMLReader.duration(text) else {
        throw SignalingError(.invalidURL, "\(url): \(name) must be a duration like 30s, 10m or 1h, got '\(text)'")
      }
      return duration
    }

    /// RFC 1123 label: what Kubernetes accepts as a namespace.
    static func isName(_ text: String) -> Bool {
      text.count <= 63 && text.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
        && text.first != "-" && text.last != "-"
    }
  }
}

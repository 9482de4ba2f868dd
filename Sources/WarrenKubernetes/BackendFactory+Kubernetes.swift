public import WarrenSignaling

extension BackendFactory {
  /// Makes this factory build `k8s://` backends.
  public mutating func registerKubernetes() {
    register(scheme: "k8s") { url, sink, logger in
      try KubernetesTransport(url: url, sink: sink, logger: logger)
    }
  }
}

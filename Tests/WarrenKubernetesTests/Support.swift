import WarrenPrimitives
import Foundation
import KubernetesTestAPIServer
import Logging
import WarrenCrypto
import WarrenKubernetes
import WarrenSignaling
import WarrenWire

/// A test API server with kubeconfig files for it in a directory of their own.
struct KubernetesFixture {
  let server: KubernetesTestAPIServer
  let directory: String

  static func start(_ options: KubernetesTestAPIServer.Options = .init()) async throws -> KubernetesFixture {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-k8s-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return KubernetesFixture(server: try await KubernetesTestAPIServer.start(options: options), directory: directory)
  }

  /// Writes a kubeconfig and returns the backend URL that reads it.
  func url(
    _ name: String = "kubeconfig", useClientCertificate: Bool = false, token: String? = nil, parameters: String = ""
  ) throws -> String {
    let path = "\(directory)/\(name)"
    try server.kubeconfig(useClientCertificate: useClientCertificate, token: token).write(toFile: path, atomically: true, encoding: .utf8)
    return "k8s://\(path)\(parameters.isEmpty ? "" : "?\(parameters)")"
  }

  var factory: BackendFactory {
    var factory = BackendFactory(logger: Logger(label: "warren.test"))
    factory.registerKubernetes()
    return factory
  }

  func stop() async {
    await server.stop()
    try? FileManager.default.removeItem(atPath: directory)
  }
}


func testMessage(_ ufrag: String) -> Cunicu_Signaling_Message {
  var message = Cunicu_Signaling_Message()
  message.credentials.ufrag = ufrag
  return message
}

/// Counts what a transport delivers.
final class RecordingSink: EnvelopeSink {
  private let envelopes = Locked<[Cunicu_Signaling_Envelope]>([])
  var received: [Cunicu_Signaling_Envelope] { envelopes.withLock { $0 } }
  func deliver(_ envelope: Cunicu_Signaling_Envelope) { envelopes.withLock { $0.append(envelope) } }
}

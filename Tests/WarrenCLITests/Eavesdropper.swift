import WarrenPrimitives
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import WarrenCrypto
import WarrenWire
import WarrenWireGRPC

/// A stranger on the signal server: subscribes to keys it does not hold (sending no proof, as a
/// cunicu client does), records every envelope it is handed, and publishes whatever it likes.
final class Eavesdropper: Sendable {
  private let client: GRPCClient<HTTP2ClientTransport.Posix>
  private let connections: Task<Void, any Error>
  private let subscriptions = Locked<[Task<Void, Never>]>([])
  private let envelopes = Locked<[Cunicu_Signaling_Envelope]>([])

  init(port: Int) throws {
    let client = GRPCClient(
      transport: try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
    self.client = client
    connections = Task { try await client.runConnections() }
  }

  var recorded: [Cunicu_Signaling_Envelope] { envelopes.withLock { $0 } }

  /// Subscribes to `key` without a proof; returns once the server's marker arrived, or throws the
  /// server's refusal. A server still starting is waited for (up to 10 s).
  func subscribe(_ key: Key) async throws {
    for attempt in 1...100 {
      do {
        return try await subscribeOnce(key)
      } catch let error as RPCError where error.code == .unavailable && attempt < 100 {
        try await Task.sleep(for: .milliseconds(100))
      }
    }
  }

  private func subscribeOnce(_ key: Key) async throws {
    var request = Cunicu_Signaling_SubscribeParams()
    request.key = Data(key.bytes)
    let (marker, markerSink) = AsyncThrowingStream.makeStream(of: Void.self)
    let signaling = Cunicu_Signaling_Signaling.Client(wrapping: client)
    let task = Task { [self] in
      do {
        try await signaling.subscribe(request) { response in
          var first = true
          for try await envelope in response.messages {
            if first {
              first = false
              markerSink.yield()
              continue
            }
            self.envelopes.withLock { $0.append(envelope) }
          }
        }
        markerSink.finish()
      } catch {
        markerSink.finish(throwing: error)
      }
    }
    subscriptions.withLock { $0.append(task) }
    for try await _ in marker { return }
  }

  func publish(_ envelope: Cunicu_Signaling_Envelope) async throws {
    _ = try await Cunicu_Signaling_Signaling.Client(wrapping: client).publish(envelope)
  }

  func close() async {
    for task in subscriptions.withLock({ $0 }) { task.cancel() }
    client.beginGracefulShutdown()
    _ = try? await connections.value
  }
}

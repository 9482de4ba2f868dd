import Synchronization
import Logging
import WarrenCrypto
import WarrenSignaling
import WarrenWire

/// Deterministic keys: peer `n` always has the same key pair.
func peer(_ n: UInt8) -> PrivateKey {
  PrivateKey(try! Key(bytes: [UInt8](repeating: n, count: 31) + [0x40]))
}

func credentials(_ ufrag: String) -> Cunicu_Signaling_Message {
  var message = Cunicu_Signaling_Message()
  message.credentials.ufrag = ufrag
  message.credentials.pwd = "pwd-\(ufrag)"
  return message
}

let testLogger = Logger(label: "warren.test")

/// Messages already buffered in a subscription, without waiting for more: in-process delivery is
/// synchronous, so after `publish` returns the message is either buffered or was never sent.
struct Inbox {
  private var iterator: AsyncStream<OpenedEnvelope>.Iterator

  init(_ subscription: SignalingSubscription) { iterator = subscription.makeAsyncIterator() }

  mutating func next() async -> OpenedEnvelope? { await iterator.next() }
}

/// A transport that fails on demand, to show that one broken backend does not stop the others.
final class FailingTransport: EnvelopeTransport {
  struct Failure: Error, CustomStringConvertible { var description: String { "unreachable (test)" } }
  var type: BackendType { .grpc }
  func subscribe(_ ours: PrivateKey) async throws { throw Failure() }
  func unsubscribe(_ key: Key) {}
  func publish(_ envelope: Cunicu_Signaling_Envelope) async throws { throw Failure() }
  func close() async {}
}

/// A transport whose subscribe and publish never return (until cancelled): a server that is down.
final class HangingTransport: EnvelopeTransport {
  /// Operations hanging right now.
  let hanging = Atomic(0)
  var type: BackendType { .grpc }
  func subscribe(_ ours: PrivateKey) async throws { await hang() }
  func unsubscribe(_ key: Key) {}
  func publish(_ envelope: Cunicu_Signaling_Envelope) async throws { await hang() }
  func close() async {}

  /// Waits on a stream nothing is ever sent on, until the task is cancelled.
  private func hang() async {
    let (never, end) = AsyncStream.makeStream(of: Never.self)
    hanging.add(1, ordering: .relaxed)
    defer { hanging.subtract(1, ordering: .relaxed) }
    await withTaskCancellationHandler {
      for await _ in never {}
    } onCancel: {
      end.finish()
    }
  }
}

/// A backend on `hubs`: one in-process transport per hub, several make a multi-backend.
func backend(on hubs: [InProcessHub], bufferLimit: Int = 1024, extra: [any EnvelopeTransport] = []) -> TransportBackend {
  let sealer = EnvelopeSealer()
  let registry = SubscriptionRegistry(sealer: sealer, bufferLimit: bufferLimit, logger: testLogger)
  let transports: [any EnvelopeTransport] = extra + hubs.map { InProcessTransport(hub: $0, sink: registry) }
  let transport = transports.count == 1 ? transports[0] : MultiTransport(transports, logger: testLogger)
  return TransportBackend(transport: transport, registry: registry, sealer: sealer, logger: testLogger)
}

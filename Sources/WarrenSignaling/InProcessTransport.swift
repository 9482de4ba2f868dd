public import WarrenCrypto
public import WarrenWire

/// The transport of the `inprocess:` backend: envelopes go through an ``InProcessHub``.
public final class InProcessTransport: EnvelopeTransport {
  private let hub: InProcessHub
  private let sink: any EnvelopeSink

  public init(hub: InProcessHub, sink: any EnvelopeSink) {
    self.hub = hub
    self.sink = sink
  }

  public var type: BackendType { .inprocess }

  public func subscribe(_ ours: PrivateKey) async throws {
    hub.add(ours.publicKey, owner: ObjectIdentifier(self), sink: sink)
  }

  public func unsubscribe(_ key: Key) {
    hub.remove(key, owner: ObjectIdentifier(self))
  }

  public func publish(_ envelope: Cunicu_Signaling_Envelope) async throws {
    hub.route(envelope)
  }

  public func close() async {
    hub.removeAll(owner: ObjectIdentifier(self))
  }
}

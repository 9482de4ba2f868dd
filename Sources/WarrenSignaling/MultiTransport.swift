public import Logging
public import WarrenCrypto
public import WarrenPrimitives
public import WarrenWire

/// The multi-backend's transport: publishes on every transport and receives from all of them into
/// one registry, so a message published on two backends reaches its handlers twice (session
/// handlers are idempotent).
///
/// One failing or hanging backend never holds up the others: subscribing and publishing run on
/// every backend at once and succeed as soon as one backend succeeded; the others carry on in the
/// background and their failures are logged. Only when every backend fails is it an error, naming
/// each failure. ``close()`` cancels what is still running and waits for it.
public final class MultiTransport: EnvelopeTransport {
  public let transports: [any EnvelopeTransport]
  private let logger: Logger
  /// Operations on single backends, until they end; ``close()`` cancels and awaits them.
  private let operations = Locked<(next: UInt64, running: [UInt64: Task<Void, Never>], closed: Bool)>((0, [:], false))

  public init(_ transports: [any EnvelopeTransport], logger: Logger) {
    self.transports = transports
    self.logger = logger
  }

  public var type: BackendType { .multi }

  public func subscribe(_ ours: PrivateKey) async throws {
    try await firstSuccess("subscribing \(ours.publicKey)", code: .subscribeFailed) { try await $0.subscribe(ours) }
  }

  public func unsubscribe(_ key: Key) {
    for transport in transports { transport.unsubscribe(key) }
  }

  public func reconnect(ifBoundTo ips: Set<TransportAddress.IP>?) {
    for transport in transports { transport.reconnect(ifBoundTo: ips) }
  }

  public func prepare() async {
    await withDiscardingTaskGroup { group in
      for transport in transports { group.addTask { await transport.prepare() } }
    }
  }

  public func publish(_ envelope: Cunicu_Signaling_Envelope) async throws {
    try await firstSuccess("publishing", code: .publishFailed) { try await $0.publish(envelope) }
  }

  public func close() async {
    let running = operations.withLock { operations in
      operations.closed = true
      defer { operations.running = [:] }
      return Array(operations.running.values)
    }
    for task in running { task.cancel() }
    await withTaskGroup(of: Void.self) { group in
      for transport in transports { group.addTask { await transport.close() } }
    }
    for task in running { await task.value }
  }

  private struct Failure: Sendable {
    let type: BackendType
    let error: any Error
  }

  /// Runs `operation` on every transport at once and returns when the first one succeeds (a gRPC
  /// subscription to a server that is down waits for it forever; that must not hold up multicast).
  /// Failures after that are logged; if every transport fails, the error names each failure.
  private func firstSuccess(
    _ what: String, code: SignalingError.Code, _ operation: @escaping @Sendable (any EnvelopeTransport) async throws -> Void
  ) async throws {
    let (outcomes, sink) = AsyncStream.makeStream(of: Failure?.self)
    for transport in transports {
      // Kept until it ends (it may outlive this call: a backend that hangs must not hold up the
      // others), created under the lock so that it cannot end before it is kept.
      operations.withLock { operations in
        guard !operations.closed else {
          sink.yield(Failure(type: transport.type, error: SignalingError(.closed, "the backend is closed")))
          return
        }
        operations.next += 1
        let id = operations.next
        operations.running[id] = Task { [logger] in
          do {
            try await operation(transport)
            sink.yield(nil)
          } catch {
            logger.warning(
              "\(what) failed on one backend; the others carry on", metadata: ["backend": "\(transport.type)", "error": "\(error)"])
            sink.yield(Failure(type: transport.type, error: error))
          }
          _ = self.operations.withLock { $0.running.removeValue(forKey: id) }
        }
      }
    }
    var failures: [Failure] = []
    for await outcome in outcomes {
      guard let failure = outcome else { return }
      failures.append(failure)
      if failures.count == transports.count { break }
    }
    sink.finish()
    throw SignalingError(code, "\(what) failed on every backend: \(Self.describe(failures))", causes: failures.map(\.error))
  }

  private static func describe(_ failures: [Failure]) -> String {
    failures.map { "\($0.type): \($0.error)" }.joined(separator: "; ")
  }
}

public import Logging
public import WarrenCrypto
public import WarrenWire

/// The multi-backend's transport: publishes on every transport and receives from all of them into
/// one registry, so a message published on two backends reaches its handlers twice (session
/// handlers are idempotent).
///
/// One failing backend never stops the others: publishing goes on everywhere and reports all
/// failures together; subscribing succeeds when at least one backend subscribed.
public final class MultiTransport: EnvelopeTransport {
  public let transports: [any EnvelopeTransport]
  private let logger: Logger

  public init(_ transports: [any EnvelopeTransport], logger: Logger) {
    self.transports = transports
    self.logger = logger
  }

  public var type: BackendType { .multi }

  public func subscribe(_ key: Key) async throws {
    let failures = await forEach { try await $0.subscribe(key) }
    guard failures.count < transports.count else {
      throw SignalingError(
        .subscribeFailed, "subscribing \(key) failed on every backend: \(Self.describe(failures))",
        causes: failures.map(\.error))
    }
    for failure in failures {
      logger.warning(
        "subscribing failed on one backend; the others carry on",
        metadata: ["backend": "\(failure.type)", "key": "\(key)", "error": "\(failure.error)"])
    }
  }

  public func unsubscribe(_ key: Key) {
    for transport in transports { transport.unsubscribe(key) }
  }

  public func publish(_ envelope: Cunicu_Signaling_Envelope) async throws {
    let failures = await forEach { try await $0.publish(envelope) }
    guard failures.isEmpty else {
      throw SignalingError(
        .publishFailed,
        "publishing failed on \(failures.count) of \(transports.count) backends: \(Self.describe(failures))",
        causes: failures.map(\.error))
    }
  }

  public func close() async {
    await withTaskGroup(of: Void.self) { group in
      for transport in transports { group.addTask { await transport.close() } }
    }
  }

  private struct Failure: Sendable {
    let type: BackendType
    let error: any Error
  }

  /// Runs `operation` on every transport concurrently and returns the failures.
  private func forEach(
    _ operation: @escaping @Sendable (any EnvelopeTransport) async throws -> Void
  ) async -> [Failure] {
    await withTaskGroup(of: Failure?.self) { group in
      for transport in transports {
        group.addTask {
          do {
            try await operation(transport)
            return nil
          } catch {
            return Failure(type: transport.type, error: error)
          }
        }
      }
      var failures: [Failure] = []
      for await failure in group { if let failure { failures.append(failure) } }
      return failures
    }
  }

  private static func describe(_ failures: [Failure]) -> String {
    failures.map { "\($0.type): \($0.error)" }.joined(separator: "; ")
  }
}

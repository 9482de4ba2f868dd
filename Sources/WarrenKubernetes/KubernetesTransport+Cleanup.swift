internal import Foundation
internal import Logging
internal import WarrenPrimitives

/// Every `cleanup_interval`, envelopes older than `max_age` are deleted, whoever sent them (as
/// cunicu does).
extension KubernetesTransport {
  func cleanupLoop(every interval: Duration) async {
    while !Task.isCancelled {
      do {
        try await deleteOldEnvelopes()
      } catch {
        if Task.isCancelled { return }
        logger.warning("deleting old envelopes failed", metadata: ["error": "\(error)"])
      }
      try? await clock.sleep(until: clock.now + interval, tolerance: nil)
    }
  }

  /// Deletes the namespace's envelopes created more than `max_age` ago; returns how many.
  @discardableResult
  public func deleteOldEnvelopes() async throws(KubernetesError) -> Int {
    let now = Date()
    let maxAge = Double(settings.maxAge.components.seconds) + Double(settings.maxAge.components.attoseconds) / 1e18
    let cutoff = now.addingTimeInterval(-maxAge)
    var deleted = 0
    for item in try await client.list(namespace: namespace).items {
      guard let meta = item.metadata, let name = meta.name, let created = meta.created, created < cutoff else { continue }
      if try await client.delete(name: name, namespace: namespace) { deleted += 1 }
    }
    if deleted > 0 { logger.debug("deleted old envelopes", metadata: ["count": "\(deleted)", "max_age": "\(settings.maxAge)"]) }
    return deleted
  }
}

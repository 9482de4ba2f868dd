import WarrenCrypto
import WarrenSignaling
import WarrenTestSupport

// Helpers that wait on real sockets: for the integration and interop tests only.

/// Next message of a subscription, or nil after `limit`.
func next(_ iterator: inout AsyncStream<OpenedEnvelope>.Iterator, within limit: Duration = .seconds(10)) async -> OpenedEnvelope? {
  let box = IteratorBox(iterator)
  let result = await withTaskGroup(of: OpenedEnvelope?.self) { group in
    group.addTask { await box.next() }
    group.addTask {
      try? await Task.sleep(for: limit)
      return nil
    }
    let first = await group.next()!
    group.cancelAll()
    return first
  }
  iterator = box.iterator
  return result
}

final class IteratorBox: @unchecked Sendable {
  // @unchecked: used by one task at a time (the helper above waits for it before touching it again).
  var iterator: AsyncStream<OpenedEnvelope>.Iterator
  init(_ iterator: AsyncStream<OpenedEnvelope>.Iterator) { self.iterator = iterator }
  func next() async -> OpenedEnvelope? { await iterator.next() }
}


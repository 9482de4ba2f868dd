/// A set whose members are each forgotten at a deadline given when they are inserted, and the
/// oldest first when it must shrink: the memory of recently seen nonces (replayed envelopes,
/// replayed proofs). Deadlines are kept in insertion order, so they should not decrease; one that
/// does only keeps its member a little longer.
public struct ExpiringSet<Element: Hashable & Sendable, Deadline: Comparable & Sendable>: Sendable {
  private var members: Set<Element> = []
  private var queue: [(element: Element, deadline: Deadline)] = []
  private var queueStart = 0

  public init() {}

  public var count: Int { members.count }

  public func contains(_ element: Element) -> Bool { members.contains(element) }

  /// Remembers `element` until `deadline` (nothing changes if it is already remembered).
  public mutating func insert(_ element: Element, forgetAt deadline: Deadline) {
    guard members.insert(element).inserted else { return }
    queue.append((element, deadline))
  }

  /// Forgets every member whose deadline is at or before `now`.
  public mutating func forget(through now: Deadline) {
    while queueStart < queue.count, queue[queueStart].deadline <= now { forgetOldest() }
  }

  /// Forgets the member inserted first.
  public mutating func forgetOldest() {
    guard queueStart < queue.count else { return }
    members.remove(queue[queueStart].element)
    queueStart += 1
    // Compact once half of the queue is spent, so it never holds more than twice the members.
    if queueStart * 2 >= queue.count {
      queue.removeFirst(queueStart)
      queueStart = 0
    }
  }
}

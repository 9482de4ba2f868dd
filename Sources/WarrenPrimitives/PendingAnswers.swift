
/// Callers waiting for answers that arrive from elsewhere, by key: a STUN Binding's (by
/// transaction), a probe's (by token), a TURN allocation's (by server), a stream's readiness (by
/// waiter). Each wait ends exactly once: with its answer, or with the first answer given to
/// ``answerAll(with:)`` (closing, or a one-shot signal: a wait that starts after it ends with it
/// at once). Pair it with ``answerOrTimeout(within:on:expire:_:)`` for a deadline.
public final class PendingAnswers<Key: Hashable & Sendable, Answer: Sendable>: Sendable {
  private struct State {
    var waiting: [Key: CheckedContinuation<Answer, Never>] = [:]
    var closedWith: Answer?
  }

  private let state = Locked(State())

  public init() {}

  /// How many wait now.
  public var count: Int { state.withLock { $0.waiting.count } }

  /// Waits for `key`'s answer. `start` runs once the wait is registered and outside any lock (it
  /// sends the request, whose answer may come at once). Someone else already waiting for `key`
  /// is left alone: this wait ends with `busy` at once, and `start` does not run.
  public func wait(for key: Key, busy: Answer, then start: () -> Void = {}) async -> Answer {
    await withCheckedContinuation { continuation in
      let early: Answer? = state.withLock { state in
        if let closed = state.closedWith { return closed }
        guard state.waiting[key] == nil else { return busy }
        state.waiting[key] = continuation
        return nil
      }
      if let early {
        continuation.resume(returning: early)
      } else {
        start()
      }
    }
  }

  /// Ends the wait for `key` with `answer`.
  /// - Returns: whether anyone was waiting for it (an answer nobody waits for is someone else's).
  @discardableResult
  public func answer(_ key: Key, with answer: Answer) -> Bool {
    guard let waiter = state.withLock({ $0.waiting.removeValue(forKey: key) }) else { return false }
    waiter.resume(returning: answer)
    return true
  }

  /// Ends every wait with `answer` (the agent dropped its transactions).
  public func answerWaiting(with answer: Answer) {
    let waiters = state.withLock { state in defer { state.waiting = [:] }; return state.waiting.values }
    for waiter in waiters { waiter.resume(returning: answer) }
  }

  /// Ends every wait with `answer`, and every later one at once (closing); only the first call
  /// decides what later waits get.
  public func answerAll(with answer: Answer) {
    state.withLock { state in
      if state.closedWith == nil { state.closedWith = answer }
    }
    answerWaiting(with: answer)
  }
}

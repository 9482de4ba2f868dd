internal import Synchronization

/// Waits for `operation`'s answer, at most `timeout` on `clock`: the one race between an answer
/// and a deadline (a STUN Binding's, a TURN allocation's, a stream's coming back). `operation` waits for something that
/// arrives from elsewhere (a continuation kept in a table); `expire` must end that wait, with nil,
/// and runs when the deadline passes or the caller is cancelled first — never after the answer.
/// - Returns: the answer, or nil when it was refused, the deadline passed or the caller was
///   cancelled.
public func answerOrTimeout<Answer: Sendable>(
  within timeout: Duration, on clock: any MonotonicClock, expire: @escaping @Sendable () -> Void,
  _ operation: @escaping @Sendable () async -> Answer?
) async -> Answer? {
  let answered = AnsweredFlag()
  return await withTaskGroup(of: Answer??.self) { group in
    group.addTask {
      let answer = await operation()
      answered.value.store(true, ordering: .sequentiallyConsistent)
      return .some(answer)
    }
    group.addTask {
      try? await clock.sleep(until: clock.now + timeout, tolerance: nil)
      if !answered.value.load(ordering: .sequentiallyConsistent) { expire() }
      return .none
    }
    // Only the operation's own end (an answer, a refusal or the expiry) ends the race.
    while let next = await group.next() {
      if let answer = next {
        group.cancelAll()
        return answer
      }
    }
    return nil
  }
}

/// Set once the operation has its answer: the deadline's task must then leave its waiter alone.
private final class AnsweredFlag: Sendable {
  let value = Atomic(false)
}

import Testing

import WarrenPrimitives
import WarrenTestSupport

/// Every wait ends exactly once: with its answer, at once when its key is taken, or with the
/// closing answer (also for a wait that starts after closing).
@Suite(.timeLimit(.scaled(minutes: 1))) struct PendingAnswersTests {
  @Test("an answer ends its own wait only; an answer nobody waits for is reported as such")
  func answersByKey() async {
    let pending = PendingAnswers<Int, String?>()
    #expect(!pending.answer(1, with: "nobody"))
    let answer = await pending.wait(for: 1, busy: nil) {
      #expect(!pending.answer(2, with: "other key"))
      #expect(pending.answer(1, with: "one"))
      #expect(!pending.answer(1, with: "twice"))
    }
    #expect(answer == "one")
  }

  @Test("a second wait for a key being waited on ends with `busy` at once, and does not start")
  func busyKey() async {
    let pending = PendingAnswers<Int, String>()
    let first = Task { await pending.wait(for: 7, busy: "busy") }
    while pending.count < 1 { await Task.yield() }
    var started = false
    let second = await pending.wait(for: 7, busy: "busy") { started = true }
    #expect(second == "busy" && !started)
    // The first wait kept its place.
    #expect(pending.answer(7, with: "first"))
    #expect(await first.value == "first")
    let again = await pending.wait(for: 7, busy: "busy") { pending.answer(7, with: "free again") }
    #expect(again == "free again")
  }

  @Test("closing ends every wait, and every later one at once without starting it")
  func closing() async {
    let pending = PendingAnswers<Int, String>()
    let waiting = await withTaskGroup(of: String.self) { group in
      for key in 0..<3 {
        group.addTask { await pending.wait(for: key, busy: "busy") {} }
      }
      // The waits register as their tasks run; close once all three wait.
      while pending.count < 3 { await Task.yield() }
      pending.answerAll(with: "closed")
      return await group.reduce(into: []) { $0.append($1) }
    }
    #expect(waiting == ["closed", "closed", "closed"])
    let late = await pending.wait(for: 9, busy: "busy") { Issue.record("a wait after closing started its request") }
    #expect(late == "closed")
  }
}

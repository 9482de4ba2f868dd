import Testing
import WarrenTestSupport

@testable import WarrenGRPC

/// The two signals of a Subscribe stream, on a manual clock: nothing here waits in real time,
/// and a lost wake-up would hang until the suite's time limit.
@Suite(.timeLimit(.scaled(minutes: 1))) struct SubscriptionSignalTests {
  @Test("a publish waiting for its stream to come back is woken when it does, before its time is up")
  func liveFlagWakesItsWaiters() async {
    let clock = ManualClock()
    let flag = LiveFlag()
    let waiting = (0..<4).map { _ in Task { await flag.wait(timeout: .seconds(1), clock: clock) } }
    for _ in 0..<10 { await Task.yield() }
    flag.set(true)  // before or after each wait registered: both must see it
    for task in waiting { #expect(await task.value) }
    #expect(await flag.wait(timeout: .zero, clock: clock))
  }

  @Test("a stream that stays down ends the wait with false once the time is up")
  func liveFlagTimesOut() async {
    let clock = ManualClock()
    let start = clock.now
    let flag = LiveFlag()
    flag.set(false)
    let waiting = Task { await flag.wait(timeout: .seconds(1), clock: clock) }
    let ticker = Task {
      while !Task.isCancelled {
        clock.advance(by: .milliseconds(100))
        await Task.yield()
      }
    }
    #expect(await waiting.value == false)
    ticker.cancel()
    #expect(clock.now - start >= .seconds(1))
  }

  @Test("ready: waits end when signalled, and every later wait returns at once; cancel after that changes nothing")
  func readySignal() async throws {
    let ready = ReadySignal()
    let waiting = Task { try await ready.wait() }
    for _ in 0..<10 { await Task.yield() }
    ready.signal()
    try await waiting.value
    ready.cancel()
    try await ready.wait()
  }

  @Test("ready: cancelling the stream, or the waiting task, ends the wait with CancellationError")
  func readyCancelled() async {
    let stream = ReadySignal()
    let waiting = Task { try await stream.wait() }
    for _ in 0..<10 { await Task.yield() }
    stream.cancel()
    await #expect(throws: CancellationError.self) { try await waiting.value }
    await #expect(throws: CancellationError.self) { try await stream.wait() }

    let other = ReadySignal()
    let waiter = Task { try await other.wait() }
    waiter.cancel()  // before or after it registered
    await #expect(throws: CancellationError.self) { try await waiter.value }
  }
}

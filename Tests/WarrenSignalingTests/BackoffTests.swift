import Testing
import WarrenPrimitives
import WarrenSignaling

@Suite("Reconnect back-off")
struct BackoffTests {
  struct Fixed: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { value }
  }

  @Test("grows exponentially to its cap and never stops")
  func schedule() {
    let backoff = ReconnectBackoff(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(10), jitter: 0)
    var random = Fixed(value: 0)
    let delays = (1...12).map { backoff.delay(afterFailures: $0, random: &random) }
    #expect(Array(delays.prefix(8)) == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10].map { .milliseconds(Int($0 * 1000)) })
    #expect(delays.suffix(4).allSatisfy { $0 == .seconds(10) })
    #expect(backoff.delay(afterFailures: 1000, random: &random) == .seconds(10))
  }

  @Test("jitter stays within its fraction")
  func jitter() {
    let backoff = ReconnectBackoff(initial: .seconds(1), multiplier: 2, maximum: .seconds(10), jitter: 0.2)
    var random = SystemRandomNumberGenerator()
    for _ in 0..<200 {
      let delay = backoff.delay(afterFailures: 1, random: &random)
      #expect(delay >= .milliseconds(800) && delay <= .milliseconds(1200))
    }
  }

  @Test("the one jitter: its ends are 1 - spread and 1 + spread, its middle the duration itself")
  func jitterEnds() {
    var lowest = Fixed(value: 0), middle = Fixed(value: 1 << 63), highest = Fixed(value: .max)
    #expect(Duration.seconds(10).jittered(by: 0.2, using: &lowest) == .seconds(8))
    #expect(Duration.seconds(10).jittered(by: 0.2, using: &middle) == .seconds(10))
    let top = Duration.seconds(10).jittered(by: 0.2, using: &highest)
    #expect(top <= .seconds(12) && top > .milliseconds(11_999))
    #expect(Duration.seconds(10).jittered(by: 0, using: &highest) == .seconds(10))
  }
}

/// The earliest of several optional deadlines, without building an array of them: an agent's
/// `pollTimeout` runs after every input a driver feeds it.
struct EarliestDeadline {
  typealias Instant = ContinuousClock.Instant

  private(set) var value: Instant?

  mutating func consider(_ deadline: Instant?) {
    guard let deadline else { return }
    if value.map({ deadline < $0 }) ?? true { value = deadline }
  }
}

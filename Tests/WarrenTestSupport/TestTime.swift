#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
public import Testing

/// How many times slower than usual this test run is: `WARREN_TEST_TIME_SCALE`, a whole number
/// from 1 to 100, 1 when unset (`scripts/sanitize.sh` sets 5: a sanitized run is 3 to 15 times
/// slower than a plain debug build). Time limits (`.timeLimit(.scaled(minutes:))`) and the
/// real-time waits of ``eventually(within:every:_:)`` and its kin are multiplied by it; virtual
/// time is not, and a test whose bound on real time means nothing when scaled checks it unscaled
/// only.
public enum TestTime {
  public static let scale: Int = {
    guard let text = getenv("WARREN_TEST_TIME_SCALE").map({ String(cString: $0) }), !text.isEmpty else { return 1 }
    guard let value = Int(text), (1...100).contains(value) else {
      fatalError("WARREN_TEST_TIME_SCALE must be a whole number from 1 to 100, not \"\(text)\"")
    }
    return value
  }()
}

extension TimeLimitTrait.Duration {
  /// `minutes`, times ``TestTime/scale``.
  public static func scaled(minutes: Int) -> Self { .minutes(minutes * TestTime.scale) }
}

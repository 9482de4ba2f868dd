#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The system's wall clock (`CLOCK_REALTIME`), for what travels between hosts: agent generations
/// and `sent_at` in signaling, the time in proofs of key possession. Timers use the monotonic
/// clocks; only values that another host compares with its own clock come from here.
public enum WallClock {
  /// Nanoseconds since the Unix epoch.
  public static var unixNanoseconds: UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }

  /// Milliseconds since the Unix epoch.
  public static var unixMilliseconds: UInt64 { unixNanoseconds / 1_000_000 }
}

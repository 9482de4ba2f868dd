#if canImport(Glibc)
  public import Glibc
#elseif canImport(Musl)
  public import Musl
#elseif canImport(Darwin)
  public import Darwin
#endif

/// A value behind a lock: Warren's one way to share state between threads, with
/// `Synchronization.Mutex`'s shape (`withLock`) on a pthread mutex. Why not `Mutex` itself: on
/// Linux it waits on a futex that ThreadSanitizer does not see (Swift 6.3.1), so every access
/// made under it was reported as a race — a program of four threads counting under a `Mutex`
/// printed three reports, the same program under a pthread mutex none, and 35 tests of the relay,
/// the peer links and the gRPC backend 93 (docs/hardening.md). A pthread mutex is what the
/// sanitizer understands, and costs about what a futex does when nobody else holds it.
public final class Locked<Value>: @unchecked Sendable {
  @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
  @usableFromInline var value: Value

  public init(_ value: sending Value) {
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
    self.value = value
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Runs `body` with the value, holding the lock.
  @inlinable
  public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&value)
  }
}

/// Where random bytes come from: the system's cryptographic generator in production, a seeded one in
/// tests, so that keys, nonces and vectors are reproducible.
public protocol RandomSource: Sendable {
  /// Fills `buffer` with random bytes.
  func fill(_ buffer: UnsafeMutableRawBufferPointer)
}

extension RandomSource {
  /// `count` random bytes.
  public func bytes(_ count: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      fill(UnsafeMutableRawBufferPointer(buffer))
      initialized = count
    }
  }
}

/// The operating system's cryptographically secure generator (`getrandom(2)` on Linux), through
/// the standard library's `SystemRandomNumberGenerator`.
public struct SystemRandomSource: RandomSource {
  public init() {}

  public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
    var generator = SystemRandomNumberGenerator()
    var offset = 0
    while offset < buffer.count {
      let word = generator.next() as UInt64
      withUnsafeBytes(of: word) { bytes in
        let n = min(8, buffer.count - offset)
        for index in 0..<n { buffer[offset + index] = bytes[index] }
        offset += n
      }
    }
  }
}

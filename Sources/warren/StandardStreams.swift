import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The process's standard streams, read and written with plain system calls so that the key
/// commands behave byte for byte like `wg genkey` / `wg pubkey`.
enum StandardStreams {
  /// Writes `text` to standard error.
  static func printError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
      var offset = 0
      while offset < bytes.count {
        let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
        if written <= 0 { break }
        offset += written
      }
    }
  }

  /// Reads up to `count` bytes from standard input; fewer only at end of input.
  static func read(upTo count: Int) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
      let got = buffer.withUnsafeMutableBytes { raw in
        Glibc.read(0, raw.baseAddress! + filled, count - filled)
      }
      if got < 0, errno == EINTR { continue }
      if got <= 0 { break }
      filled += got
    }
    return Array(buffer[0..<filled])
  }

  /// Whether standard output is a regular file that others may read, as after `warren genkey > key`
  /// with a permissive umask. (Read through Foundation: the C `stat` struct resolves to different
  /// modules from one build to the next.)
  static var standardOutputIsWorldAccessibleFile: Bool {
    let target = URL(fileURLWithPath: "/proc/self/fd/1").resolvingSymlinksInPath().path
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: target),
      attributes[.type] as? FileAttributeType == .typeRegular,
      let permissions = attributes[.posixPermissions] as? Int
    else { return false }
    return permissions & 0o007 != 0
  }
}

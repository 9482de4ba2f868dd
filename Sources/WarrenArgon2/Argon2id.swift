#if canImport(Glibc)
public import WarrenPrimitives
internal import Glibc
#endif

/// Argon2id (RFC 9106) from the reference implementation, Debian's `libargon2` (`libargon2.so.1`),
/// opened at run time like libnftables: building Warren needs no Argon2 headers, and a host without
/// the library is told so when it asks for a key, instead of failing to build. The library is the
/// one `argon2-cffi` and Debian's `argon2` command wrap, and uses Argon2 version 0x13, as cunicu's
/// Go implementation does.
public enum Argon2id {
  private typealias HashRaw = @convention(c) (
    UInt32, UInt32, UInt32, UnsafeRawPointer?, Int, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?, Int
  ) -> Int32
  private typealias ErrorMessage = @convention(c) (Int32) -> UnsafePointer<CChar>?

  private struct Library: @unchecked Sendable {
    // @unchecked: two C function pointers, immutable once loaded; the library is reentrant.
    let hashRaw: HashRaw
    let errorMessage: ErrorMessage
  }

  private static let library: Result<Library, Argon2Error> = {
    let name = "libargon2.so.1"
    guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
      let reason = dlerror().map { String(cString: $0) } ?? "not found"
      return .failure(Argon2Error(.unavailable, "cannot load \(name) (install libargon2-1): \(reason)"))
    }
    guard let hash = dlsym(handle, "argon2id_hash_raw"), let message = dlsym(handle, "argon2_error_message") else {
      return .failure(Argon2Error(.unavailable, "\(name) has no argon2id_hash_raw"))
    }
    return .success(Library(hashRaw: unsafeBitCast(hash, to: HashRaw.self), errorMessage: unsafeBitCast(message, to: ErrorMessage.self)))
  }()

  /// Whether the library could be loaded.
  public static var isAvailable: Bool { (try? library.get()) != nil }

  /// The raw Argon2id hash (`argon2id_hash_raw`). Takes as long and as much memory as asked
  /// (`memoryKiB`): call it off any event loop.
  public static func hash(
    password: [UInt8], salt: [UInt8], iterations: UInt32, memoryKiB: UInt32, parallelism: UInt32, length: Int
  ) throws(Argon2Error) -> [UInt8] {
    let library = try library.get()
    var output = [UInt8](repeating: 0, count: length)
    let status = password.withUnsafeBytes { password in
      salt.withUnsafeBytes { salt in
        output.withUnsafeMutableBytes { output in
          library.hashRaw(
            iterations, memoryKiB, parallelism, password.baseAddress, password.count, salt.baseAddress, salt.count,
            output.baseAddress, output.count)
        }
      }
    }
    guard status == 0 else {
      let reason = library.errorMessage(status).map { String(cString: $0) } ?? "error \(status)"
      throw Argon2Error(.failed, "Argon2id failed: \(reason)")
    }
    return output
  }
}

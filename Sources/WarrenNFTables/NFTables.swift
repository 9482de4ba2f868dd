#if canImport(Glibc)
internal import Glibc
#endif
public import WarrenPrimitives

/// nftables through libnftables, the library behind the `nft` command, with JSON commands
/// (libnftables-json(5)): a well-kept interface whose answers are structured, not `nft` text to
/// parse. The library is opened at run time (`libnftables.so.1`, Debian's `libnftables1`, which
/// `nftables` depends on), so building Warren needs no nftables headers and a host without it
/// simply has no kernel data path.
public final class NFTables: Sendable {
  /// The library's context; libnftables contexts are not thread-safe, so every use holds the lock.
  private struct Context: @unchecked Sendable {
    let handle: OpaquePointer
  }

  private typealias NewContext = @convention(c) (UInt32) -> OpaquePointer?
  private typealias FreeContext = @convention(c) (OpaquePointer?) -> Void
  private typealias SetFlags = @convention(c) (OpaquePointer?, UInt32) -> Void
  private typealias UseBuffer = @convention(c) (OpaquePointer?) -> Int32
  private typealias ReadBuffer = @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
  private typealias RunFromBuffer = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Int32

  private let context: Locked<Context>
  private let free: FreeContext
  private let run: RunFromBuffer
  private let output: ReadBuffer
  private let errors: ReadBuffer

  /// `NFT_CTX_OUTPUT_JSON`: answers in JSON, and commands read as JSON.
  private static let outputJSON: UInt32 = 1 << 4

  /// Opens libnftables. Fails with `.unavailable` when the library is not installed.
  public init(library: String = "libnftables.so.1") throws(NFTablesError) {
    guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
      let reason = dlerror().map { String(cString: $0) } ?? "not found"
      throw NFTablesError(.unavailable, "cannot load \(library) (install nftables): \(reason)")
    }
    func symbol<T>(_ name: String, as type: T.Type) throws(NFTablesError) -> T {
      guard let pointer = dlsym(handle, name) else {
        throw NFTablesError(.unavailable, "\(library) has no \(name)")
      }
      return unsafeBitCast(pointer, to: type)
    }
    let new = try symbol("nft_ctx_new", as: NewContext.self)
    free = try symbol("nft_ctx_free", as: FreeContext.self)
    let setFlags = try symbol("nft_ctx_output_set_flags", as: SetFlags.self)
    let bufferOutput = try symbol("nft_ctx_buffer_output", as: UseBuffer.self)
    let bufferErrors = try symbol("nft_ctx_buffer_error", as: UseBuffer.self)
    output = try symbol("nft_ctx_get_output_buffer", as: ReadBuffer.self)
    errors = try symbol("nft_ctx_get_error_buffer", as: ReadBuffer.self)
    run = try symbol("nft_run_cmd_from_buffer", as: RunFromBuffer.self)
    guard let created = new(0) else { throw NFTablesError(.unavailable, "nft_ctx_new failed") }
    setFlags(created, Self.outputJSON)
    _ = bufferOutput(created)
    _ = bufferErrors(created)
    context = Locked(Context(handle: created))
  }

  deinit {
    free(context.withLock { $0.handle })
  }

  /// Runs `commands` (a JSON document) as one transaction and returns what nftables printed
  /// (JSON, for `list` commands). A refused transaction changes nothing and throws `.refused`
  /// with nftables' own message (permission denied, a kernel without nf_tables, a bad rule).
  @discardableResult
  public func execute(_ commands: String) throws(NFTablesError) -> String {
    let (status, printed, message) = context.withLock { context in
      let status = commands.withCString { run(context.handle, $0) }
      let printed = output(context.handle).map { String(cString: $0) } ?? ""
      let message = errors(context.handle).map { String(cString: $0) } ?? ""
      return (status, printed, message)
    }
    guard status == 0 else {
      let reason = message.split(separator: "\n").first.map(String.init) ?? "status \(status)"
      throw NFTablesError(.refused, reason)
    }
    return printed
  }
}

/// Why nftables could not be used: a code to match on and nftables' own words.
public typealias NFTablesError = WarrenError<NFTablesErrorCodes>

/// The codes of ``NFTablesError``.
public enum NFTablesErrorCodes {}

extension ErrorCode where Domain == NFTablesErrorCodes {
  /// libnftables is not installed or not usable.
  public static var unavailable: Self { Self("nftables unavailable") }
  /// nftables refused a transaction (no CAP_NET_ADMIN, no nf_tables in the kernel, a bad rule).
  public static var refused: Self { Self("nftables refused") }
}

internal import Foundation
internal import NIOCore
internal import NIOPosix

#if canImport(Glibc)
  internal import Glibc
#elseif canImport(Musl)
  internal import Musl
#elseif canImport(Darwin)
  internal import Darwin
#endif

/// Where the control socket lives, and the client side of it (`warren status`, `warren ping`).
public enum ControlSocket {
  /// `/run/warren/warren.sock` for root; `$XDG_RUNTIME_DIR/warren.sock`, else
  /// `/tmp/warren-<uid>/warren.sock`, for anyone else.
  public static func defaultPath() -> String {
    defaultPath(uid: getuid(), environment: ProcessInfo.processInfo.environment)
  }

  static func defaultPath(uid: UInt32, environment: [String: String]) -> String {
    if uid == 0 { return "/run/warren/warren.sock" }
    if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return "\(runtime)/warren.sock" }
    return "/tmp/warren-\(uid)/warren.sock"
  }

  /// Creates the socket's directory (mode 0700) if missing. An existing directory must belong to
  /// this user and be closed to others, or someone else could read or replace the socket.
  static func prepareDirectory(for path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    guard !directory.isEmpty else { return }
    let files = FileManager.default
    if !files.fileExists(atPath: directory) {
      do {
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      } catch {
        throw ControlFailure("cannot create the control socket's directory \(directory): \(error.localizedDescription)")
      }
      return
    }
    let attributes = try files.attributesOfItem(atPath: directory)
    let owner = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value
    let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
    // Shared directories such as /run or $XDG_RUNTIME_DIR's parent are fine when sticky or ours.
    if owner != getuid() && owner != 0 {
      throw ControlFailure("the control socket's directory \(directory) belongs to another user")
    }
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
      throw ControlFailure("the control socket's directory \(directory) is writable by others (mode \(String(mode, radix: 8)))")
    }
  }

  /// Whether a daemon accepts connections on `path`.
  static func answers(_ path: String) async -> Bool {
    guard let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connect(unixDomainSocketPath: path).get()
    else { return false }
    try? await channel.close()
    return true
  }

  /// Sends `request` to the daemon at `path` and hands each reply line to `line` until the daemon
  /// closes the connection.
  public static func request(
    _ request: ControlRequest, path: String, line: (ArraySlice<UInt8>) async throws -> Void
  ) async throws {
    try await exchange(ControlCoding.encode(request), path: path, line: line)
  }

  /// Writes `bytes` (a request line) to the daemon at `path` and hands each reply line to `line`.
  public static func exchange(_ bytes: [UInt8], path: String, line: (ArraySlice<UInt8>) async throws -> Void) async throws {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    do {
      channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(unixDomainSocketPath: path) { channel in
          channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
    } catch {
      if !FileManager.default.fileExists(atPath: path) {
        throw ControlFailure("no daemon at \(path): is `warren up` running? (--socket or control_socket names another path)")
      }
      if !FileManager.default.isWritableFile(atPath: path) {
        throw ControlFailure("permission denied on \(path): run as the user the daemon runs as")
      }
      throw ControlFailure("cannot reach the daemon at \(path): \(error)")
    }
    try await channel.executeThenClose { inbound, outbound in
      try await outbound.write(ByteBuffer(bytes: bytes))
      var pending: [UInt8] = []
      for try await chunk in inbound {
        pending += chunk.readableBytesView
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
          try await line(pending[..<newline])
          pending.removeSubrange(...newline)
        }
      }
      if !pending.isEmpty { try await line(pending[...]) }
    }
  }
}

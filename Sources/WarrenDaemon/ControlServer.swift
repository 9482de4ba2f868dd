internal import Foundation
public import Logging
internal import NIOCore
internal import WarrenListener

/// The daemon's end of the control socket: a Unix domain socket only its owner may use (mode
/// 0600, in a directory of its own), one request per connection (``ControlRequest``), answered in
/// JSON lines by a handler.
public final class ControlServer: Sendable {
  public typealias Handler = @Sendable (ControlRequest, ControlReplyWriter) async throws -> Void

  public let path: String
  private let listener: ConnectionListener
  private let logger: Logger

  /// The longest request line accepted.
  static let maximumRequestLength = 16 * 1024

  /// Binds `path`. Refuses when another daemon answers there; replaces a stale socket file.
  public init(path: String, logger: Logger) async throws {
    self.path = path
    self.logger = logger
    try ControlSocket.prepareDirectory(for: path)
    if FileManager.default.fileExists(atPath: path), await ControlSocket.answers(path) {
      throw ControlFailure("another warren daemon is already answering on \(path); stop it or set control_socket")
    }
    listener = try await ConnectionListener.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    logger.info("control socket ready", metadata: ["path": "\(path)"])
  }

  /// Serves connections until cancelled (SIGTERM included, whatever clients are doing; see
  /// ``ConnectionListener``), then removes the socket file.
  public func run(handler: @escaping Handler) async throws {
    defer { try? FileManager.default.removeItem(atPath: path) }
    try await listener.run { (connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) in
      await self.serve(connection, handler: handler)
    }
  }

  private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, handler: Handler) async {
    do {
      try await connection.executeThenClose { inbound, outbound in
        let writer = ControlReplyWriter(outbound: outbound)
        var line: [UInt8] = []
        for try await chunk in inbound {
          line += chunk.readableBytesView
          if let newline = line.firstIndex(of: UInt8(ascii: "\n")) {
            line.removeSubrange(newline...)
            break
          }
          guard line.count <= Self.maximumRequestLength else {
            try await writer.send(ControlFailure("request longer than \(Self.maximumRequestLength) bytes"))
            return
          }
        }
        let request: ControlRequest
        do {
          request = try ControlCoding.decode(ControlRequest.self, from: line)
        } catch {
          try await writer.send(ControlFailure("malformed request: expected one JSON object with a known \"command\""))
          return
        }
        do {
          try await handler(request, writer)
        } catch let failure as ControlFailure {
          try await writer.send(failure)
        }
      }
    } catch {
      logger.debug("control connection ended", metadata: ["error": "\(error)"])
    }
  }
}

/// Writes reply lines to one control connection.
public struct ControlReplyWriter: Sendable {
  let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

  public func send(_ value: some Encodable) async throws {
    try await outbound.write(ByteBuffer(bytes: ControlCoding.encode(value)))
  }
}

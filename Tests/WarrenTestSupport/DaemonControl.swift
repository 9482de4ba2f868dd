public import WarrenDaemon

/// Asking a running daemon over its control socket, the way `warren status` and `warren ping`
/// ask; for the daemon and command-line tests. Nothing here blocks a thread.
public enum DaemonControl {
  /// The daemon's status report (one line, as docs/control.md says), or nil while it does not
  /// answer (the socket may not exist yet).
  public static func status(_ socket: String) async -> StatusReport? {
    guard let lines = try? await replyLines(ControlRequest(command: .status), socket), lines.count == 1 else { return nil }
    return try? ControlCoding.decodeReply(StatusReport.self, from: lines[0])
  }

  /// Every reply line to `request`, decoded; a line with the daemon's error throws it.
  public static func replies<Reply: Decodable>(_ request: ControlRequest, _ socket: String, as type: Reply.Type) async throws -> [Reply] {
    try await replyLines(request, socket).map { try ControlCoding.decodeReply(type, from: $0) }
  }

  /// Polls the daemon until its peer `name` is connected over a selected pair (with `path`, that
  /// path: a pair can first be selected over the peer's address learned from its check,
  /// peer-reflexive and shown as srflx, before its candidate arrives by signaling).
  public static func waitConnected(
    _ socket: String, peer name: String, path: String? = nil, within limit: Duration = .seconds(15)
  ) async throws -> PeerReport {
    let connected = try await firstValue(within: limit) {
      await status(socket)?.peers.first { $0.name == name && $0.isConnected && (path == nil || $0.path == path) }
    }
    guard let connected else { throw ControlFailure("\(name) did not connect within \(limit) (socket \(socket))") }
    return connected
  }

  private static func replyLines(_ request: ControlRequest, _ socket: String) async throws -> [ArraySlice<UInt8>] {
    var lines: [ArraySlice<UInt8>] = []
    try await ControlSocket.request(request, path: socket) { lines.append($0) }
    return lines
  }
}

extension PeerReport {
  /// Connected or Completed, over a selected pair.
  public var isConnected: Bool { ["connected", "completed"].contains(state) && path != nil }
}

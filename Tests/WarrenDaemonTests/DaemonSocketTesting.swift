import Foundation
import Testing
import WarrenCrypto
import WarrenDaemon

/// Daemons in one process on loopback, each with a control socket in `directory`, asked the way
/// `warren status` and `warren ping` ask.
protocol DaemonSocketTesting {
  var directory: String { get }
}

extension DaemonSocketTesting {
  func configuration(
    _ ours: PrivateKey, peers: [(name: String, key: Key, forward: String)], socket: String, backend: String = "inprocess:"
  ) throws -> DaemonConfiguration {
    var text = """
      private_key: \(ours.key.base64)
      backends: [ "\(backend)" ]
      control_socket: \(directory)/\(socket)
      ice:
        interfaces_include: [ lo ]
        network_types: [ udp4 ]
      peers:

      """
    for peer in peers {
      text += "  \(peer.name):\n    public_key: \(peer.key.base64)\n    forward: \(peer.forward)\n"
    }
    return try DaemonConfiguration.parse(text, file: "\(socket).yaml")
  }

  func status(_ socket: String) async throws -> StatusReport {
    var lines: [ArraySlice<UInt8>] = []
    try await ControlSocket.request(ControlRequest(command: .status), path: "\(directory)/\(socket)") { lines.append($0) }
    #expect(lines.count == 1)
    return try ControlCoding.decodeReply(StatusReport.self, from: try #require(lines.first))
  }

  func replies<Reply: Decodable>(_ request: ControlRequest, _ socket: String, as type: Reply.Type) async throws -> [Reply] {
    var replies: [Reply] = []
    try await ControlSocket.request(request, path: "\(directory)/\(socket)") {
      replies.append(try ControlCoding.decodeReply(type, from: $0))
    }
    return replies
  }

  /// Polls `socket` until `peer` is connected (a few seconds at most on loopback); the socket may
  /// not exist yet at first.
  /// With `path`, waits for that path too: a pair can be selected with the peer's address learned
  /// from its check (peer-reflexive, shown as srflx) before its candidate arrives by signaling.
  func waitConnected(_ socket: String, peer: String, path: String? = nil) async throws -> PeerReport {
    for _ in 0..<200 {
      if let report = try? await status(socket).peers.first(where: { $0.name == peer }),
        ["connected", "completed"].contains(report.state), report.path != nil, path == nil || report.path == path
      {
        return report
      }
      try await Task.sleep(for: .milliseconds(25))
    }
    throw ControlFailure("\(peer) did not connect")
  }
}

import Foundation
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenTestSupport

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
    try #require(await DaemonControl.status("\(directory)/\(socket)"))
  }

  func replies<Reply: Decodable>(_ request: ControlRequest, _ socket: String, as type: Reply.Type) async throws -> [Reply] {
    try await DaemonControl.replies(request, "\(directory)/\(socket)", as: type)
  }

  /// Polls `socket` until `peer` is connected (a few seconds at most on loopback; more when the machine is loaded), over `path`
  /// when given.
  func waitConnected(_ socket: String, peer: String, path: String? = nil) async throws -> PeerReport {
    try await DaemonControl.waitConnected("\(directory)/\(socket)", peer: peer, path: path, within: .seconds(30))
  }
}

internal import Foundation
internal import NIOCore
internal import NIOPosix
public import WarrenCrypto
public import WarrenPrimitives

/// A userspace WireGuard implementation (wireguard-go, boringtun) through its configuration
/// socket, `/var/run/wireguard/<name>.sock`.
public struct UAPIClient: WireGuardControl {
  public let name: String
  public let socketPath: String

  public init(name: String, socketDirectory: String = "/var/run/wireguard") {
    self.name = name
    socketPath = "\(socketDirectory)/\(name).sock"
  }

  public func device() async throws(WireGuardError) -> WireGuardDevice {
    try UAPIMessage.parseGet(try await exchange(UAPIMessage.getRequest), interface: name)
  }

  public func setEndpoint(_ endpoint: TransportAddress, peer: Key) async throws(WireGuardError) {
    try UAPIMessage.parseSet(try await exchange(UAPIMessage.setEndpointRequest(endpoint, peer: peer)), interface: name)
  }

  public func renewPeer(_ peer: WireGuardDevice.Peer, endpoint: TransportAddress) async throws(WireGuardError) {
    for request in UAPIMessage.renewPeerRequests(peer, endpoint: endpoint) {
      try UAPIMessage.parseSet(try await exchange(request), interface: name)
    }
  }

  public func setPeer(_ peer: Key, allowedIPs: [String]) async throws(WireGuardError) {
    try UAPIMessage.parseSet(try await exchange(UAPIMessage.setPeerRequest(peer, allowedIPs: allowedIPs)), interface: name)
  }

  public func removePeer(_ peer: Key) async throws(WireGuardError) {
    try UAPIMessage.parseSet(try await exchange(UAPIMessage.removePeerRequest(peer)), interface: name)
  }

  /// Sends one request and reads the answer up to its closing empty line.
  func exchange(_ request: String) async throws(WireGuardError) -> String {
    do {
      let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connectTimeout(.seconds(2))
        .connect(unixDomainSocketPath: socketPath) { channel in
          channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
      return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: request))
        var answer: [UInt8] = []
        for try await chunk in inbound {
          answer += chunk.readableBytesView
          if answer.count >= 2, answer.suffix(2) == [10, 10] { break }
          if answer.count > 1 << 20 { throw WireGuardError(.malformedAnswer, name, "answer over 1 MiB") }
        }
        return String(decoding: answer, as: UTF8.self)
      }
    } catch let error as WireGuardError {
      throw error
    } catch {
      if !FileManager.default.fileExists(atPath: socketPath) {
        throw WireGuardError(.unreachable, name, "no such interface: \(socketPath) does not exist (is wireguard-go running?)")
      }
      throw WireGuardError(.unreachable, name, "cannot talk to \(socketPath): \(error)")
    }
  }
}

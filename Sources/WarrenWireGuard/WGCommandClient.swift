internal import Foundation
public import WarrenCrypto
public import WarrenPrimitives

/// The kernel's WireGuard through the `wg` tool (wireguard-tools): `wg show NAME dump` and
/// `wg set NAME peer KEY endpoint IP:PORT`.
public struct WGCommandClient: WireGuardControl {
  public let name: String
  public let executable: String

  public init(name: String, executable: String = "wg") {
    self.name = name
    self.executable = executable
  }

  public func device() async throws(WireGuardError) -> WireGuardDevice {
    try WGCommandClient.parseDump(try run(["show", name, "dump"]), interface: name)
  }

  public func setEndpoint(_ endpoint: TransportAddress, peer: Key) async throws(WireGuardError) {
    _ = try run(["set", name, "peer", peer.base64, "endpoint", "\(endpoint)"])
  }

  public func renewPeer(_ peer: WireGuardDevice.Peer, endpoint: TransportAddress) async throws(WireGuardError) {
    let (renew, restore) = Self.renewPeerArguments(peer, interface: name, endpoint: endpoint)
    _ = try run(renew, input: peer.presharedKey.map { $0.base64 + "\n" })
    _ = try run(restore)
  }

  public func setPeer(_ peer: Key, allowedIPs: [String]) async throws(WireGuardError) {
    // `wg set … allowed-ips` replaces the peer's list; an empty list is written as "".
    _ = try run(["set", name, "peer", peer.base64, "allowed-ips", allowedIPs.joined(separator: ",")])
  }

  public func removePeer(_ peer: Key) async throws(WireGuardError) {
    _ = try run(["set", name, "peer", peer.base64, "remove"])
  }

  /// `wg set` twice (see ``UAPIMessage/renewPeerRequests(_:endpoint:)``): the peer removed and
  /// added again in one call, its preshared key read from standard input; then its own keepalive.
  public static func renewPeerArguments(
    _ peer: WireGuardDevice.Peer, interface: String, endpoint: TransportAddress
  ) -> (renew: [String], restore: [String]) {
    let key = peer.publicKey.base64
    var renew = ["set", interface, "peer", key, "remove", "peer", key, "endpoint", "\(endpoint)"]
    renew += ["allowed-ips", peer.allowedIPs.joined(separator: ","), "persistent-keepalive", "\(max(peer.persistentKeepalive, 1))"]
    if peer.presharedKey != nil { renew += ["preshared-key", "/dev/stdin"] }
    let keepalive = peer.persistentKeepalive == 0 ? "off" : "\(peer.persistentKeepalive)"
    return (renew, ["set", interface, "peer", key, "persistent-keepalive", keepalive])
  }

  /// `wg show NAME dump`: the interface line (private key, public key, port, fwmark), then one
  /// tab-separated line per peer (key, preshared key, endpoint, allowed IPs, latest handshake,
  /// received, sent, keepalive).
  public static func parseDump(_ text: String, interface: String) throws(WireGuardError) -> WireGuardDevice {
    let lines = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    guard let first = lines.first, first.count == 4 else {
      throw WireGuardError(.malformedAnswer, interface, "`wg show dump` output: the interface line has \(lines.first?.count ?? 0) fields, not 4")
    }
    var device = WireGuardDevice(name: interface)
    device.privateKey = (try? Key(base64: first[0])).map(PrivateKey.init)
    device.listenPort = UInt16(first[2])
    for (index, fields) in lines.dropFirst().enumerated() {
      guard fields.count == 8, let key = try? Key(base64: fields[0]) else {
        throw WireGuardError(.malformedAnswer, interface, "`wg show dump` output, peer line \(index + 1): expected 8 fields and a key")
      }
      var peer = WireGuardDevice.Peer(publicKey: key, endpoint: fields[2] == "(none)" ? nil : TransportAddress(parsing: fields[2]))
      peer.presharedKey = fields[1] == "(none)" ? nil : try? Key(base64: fields[1])
      peer.allowedIPs = fields[3] == "(none)" ? [] : fields[3].split(separator: ",").map(String.init)
      peer.lastHandshake = Int64(fields[4]) ?? 0
      peer.receivedBytes = Int64(fields[5]) ?? 0
      peer.transmittedBytes = Int64(fields[6]) ?? 0
      peer.persistentKeepalive = Int(fields[7]) ?? 0
      device.peers.append(peer)
    }
    return device
  }

  private func run(_ arguments: [String], input: String? = nil) throws(WireGuardError) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    let output = Pipe(), errors = Pipe(), standardInput = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = standardInput
    do { try process.run() } catch { throw WireGuardError(.unreachable, name, "cannot run \(executable): \(error.localizedDescription)") }
    if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
    try? standardInput.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw WireGuardError(.refused, name, "`\(executable) \(arguments.joined(separator: " "))` failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    return String(decoding: data, as: UTF8.self)
  }
}

/// The right control for an interface: its userspace socket if there is one, else `wg`.
public enum WireGuard {
  public static func control(for name: String, socketDirectory: String = "/var/run/wireguard") -> any WireGuardControl {
    FileManager.default.fileExists(atPath: "\(socketDirectory)/\(name).sock")
      ? UAPIClient(name: name, socketDirectory: socketDirectory) : WGCommandClient(name: name)
  }
}

public import WarrenCrypto
public import WarrenPrimitives

/// The cross-platform userspace configuration protocol of WireGuard (wireguard.com/xplatform):
/// `get=1` and `set=1` requests of `key=value` lines ending in an empty line; answers end with
/// `errno=N` and an empty line. Keys are lowercase hex there.
public enum UAPIMessage {
  public static let getRequest = "get=1\n\n"

  /// `set=1` changing only `peer`'s endpoint (`update_only`: never creates a peer).
  public static func setEndpointRequest(_ endpoint: TransportAddress, peer: Key) -> String {
    "set=1\npublic_key=\(hex(peer.bytes))\nupdate_only=true\nendpoint=\(endpoint)\n\n"
  }

  /// Two `set=1` requests that renew `peer` (``WireGuardControl/renewPeer(_:endpoint:)``): the
  /// first removes it and adds it again, pointed at `endpoint`, with a keepalive interval, which
  /// WireGuard answers by sending a keepalive at once — and, having no session, a handshake
  /// initiation that no earlier attempt rate-limits (a new peer has none). The second puts the
  /// peer's own keepalive interval back.
  public static func renewPeerRequests(_ peer: WireGuardDevice.Peer, endpoint: TransportAddress) -> [String] {
    let key = hex(peer.publicKey.bytes)
    var renew = "set=1\npublic_key=\(key)\nremove=true\npublic_key=\(key)\n"
    if let presharedKey = peer.presharedKey { renew += "preshared_key=\(hex(presharedKey.bytes))\n" }
    renew += "endpoint=\(endpoint)\npersistent_keepalive_interval=\(max(peer.persistentKeepalive, 1))\n"
    for allowed in peer.allowedIPs { renew += "allowed_ip=\(allowed)\n" }
    let restore = "set=1\npublic_key=\(key)\nupdate_only=true\npersistent_keepalive_interval=\(peer.persistentKeepalive)\n\n"
    return [renew + "\n", restore]
  }

  /// `set=1` adding `peer` or replacing its allowed IPs (``WireGuardControl/setPeer(_:allowedIPs:)``).
  public static func setPeerRequest(_ peer: Key, allowedIPs: [String]) -> String {
    "set=1\npublic_key=\(hex(peer.bytes))\nreplace_allowed_ips=true\n" + allowedIPs.map { "allowed_ip=\($0)\n" }.joined() + "\n"
  }

  /// `set=1` removing `peer`.
  public static func removePeerRequest(_ peer: Key) -> String {
    "set=1\npublic_key=\(hex(peer.bytes))\nremove=true\n\n"
  }

  /// Reads a `get=1` answer. Keys this reader does not know are skipped (newer implementations add
  /// some); a malformed value or a non-zero errno is an error naming the line.
  public static func parseGet(_ text: String, interface: String) throws(WireGuardError) -> WireGuardDevice {
    var device = WireGuardDevice(name: interface)
    var peer: WireGuardDevice.Peer?
    var sawErrno = false
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if line.isEmpty { continue }
      guard let equals = line.firstIndex(of: "=") else {
        throw WireGuardError(.malformedAnswer, interface, "line \(number + 1): '\(line)' is not key=value")
      }
      let key = line[..<equals], value = String(line[line.index(after: equals)...])
      func bad(_ what: String) -> WireGuardError {
        WireGuardError(.malformedAnswer, interface, "line \(number + 1): \(key)=\(value) is not \(what)")
      }
      switch key {
      case "errno":
        guard let code = Int(value) else { throw bad("a number") }
        guard code == 0 else { throw WireGuardError(.refused, interface, "the device answered errno=\(code)") }
        sawErrno = true
      case "private_key":
        guard let bytes = unhex(value), let key = try? Key(bytes: bytes) else { throw bad("a 32-byte hex key") }
        device.privateKey = bytes.allSatisfy { $0 == 0 } ? nil : PrivateKey(key)
      case "listen_port":
        guard let port = UInt16(value) else { throw bad("a port") }
        device.listenPort = port
      case "public_key":
        guard let bytes = unhex(value), let key = try? Key(bytes: bytes) else { throw bad("a 32-byte hex key") }
        if let finished = peer { device.peers.append(finished) }
        peer = WireGuardDevice.Peer(publicKey: key)
      case "endpoint":
        guard peer != nil, let endpoint = TransportAddress(parsing: value) else { throw bad("an endpoint of a peer") }
        peer?.endpoint = endpoint
      case "allowed_ip":
        guard peer != nil else { throw bad("part of a peer") }
        peer?.allowedIPs.append(value)
      case "preshared_key":
        guard peer != nil, let bytes = unhex(value), let key = try? Key(bytes: bytes) else { throw bad("a 32-byte hex key of a peer") }
        peer?.presharedKey = bytes.allSatisfy { $0 == 0 } ? nil : key
      case "last_handshake_time_sec":
        guard peer != nil, let seconds = Int64(value) else { throw bad("a number of a peer") }
        peer?.lastHandshake = seconds
      case "rx_bytes":
        guard peer != nil, let bytes = Int64(value) else { throw bad("a number of a peer") }
        peer?.receivedBytes = bytes
      case "tx_bytes":
        guard peer != nil, let bytes = Int64(value) else { throw bad("a number of a peer") }
        peer?.transmittedBytes = bytes
      case "persistent_keepalive_interval":
        guard peer != nil, let seconds = Int(value) else { throw bad("a number of a peer") }
        peer?.persistentKeepalive = seconds
      default:
        continue
      }
    }
    if let finished = peer { device.peers.append(finished) }
    guard sawErrno else { throw WireGuardError(.malformedAnswer, interface, "the answer ended without errno (cut short?)") }
    return device
  }

  /// Reads a `set=1` answer: `errno=0`, or an error.
  public static func parseSet(_ text: String, interface: String) throws(WireGuardError) {
    let lines = text.split(separator: "\n")
    guard let line = lines.first(where: { $0.hasPrefix("errno=") }), let code = Int(line.dropFirst(6)) else {
      throw WireGuardError(.malformedAnswer, interface, "answer to set: '\(text.prefix(80))'")
    }
    guard code == 0 else { throw WireGuardError(.refused, interface, "changing a peer failed: errno=\(code)") }
  }

  static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] })
  }

  static func unhex(_ text: String) -> [UInt8]? {
    let characters = Array(text.utf8)
    guard characters.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
      default: nil
      }
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(characters.count / 2)
    var index = 0
    while index < characters.count {
      guard let high = nibble(characters[index]), let low = nibble(characters[index + 1]) else { return nil }
      bytes.append(high << 4 | low)
      index += 2
    }
    return bytes
  }
}

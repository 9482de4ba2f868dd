#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
public import WarrenCrypto
public import WarrenPrimitives
public import WarrenWire

/// A community member's announcement of itself (cunicu's `PeerDescription`), checked: what a
/// receiver may act on, or a ``DiscoveryRefusal`` that names what is wrong. Checking is all or
/// nothing, so a bad field never leads to a half-applied WireGuard change.
public struct Announcement: Sendable, Equatable {
  public typealias Change = Cunicu_Pdisc_PeerDescriptionChange

  public var change: Change
  /// The node's host name (may be empty).
  public var name: String
  /// The node's key (for UPDATE with a new key: the old one).
  public var key: Key
  /// With UPDATE: the node's new key, which sealed the announcement.
  public var newKey: Key?
  public var allowedIPs: [IPPrefix]
  public var hosts: [String: [TransportAddress.IP]]
  /// Whether the sender repeats its announcements until it hears from the community (a Warren:
  /// build info `built_by: warren`). cunicu announces only at its start: a cunicu that announces
  /// again has restarted, and knows nobody until it is answered.
  public var repeatsUntilAnswered: Bool

  /// Limits on what one announcement may carry (beyond them it is refused as oversized).
  public enum Limits {
    public static let nameBytes = 253
    public static let allowedIPs = 64
    public static let hosts = 64
    public static let addressesPerHost = 16
  }

  public init(
    change: Change, name: String, key: Key, newKey: Key? = nil, allowedIPs: [IPPrefix], hosts: [String: [TransportAddress.IP]] = [:],
    repeatsUntilAnswered: Bool = true
  ) {
    self.change = change
    self.name = name
    self.key = key
    self.newKey = newKey
    self.allowedIPs = allowedIPs
    self.hosts = hosts
    self.repeatsUntilAnswered = repeatsUntilAnswered
  }

  /// The `built_by` of a Warren's build info.
  public static let warrenBuilder = "warren"

  /// Checks a received description against the envelope's authenticated `sender`: the announced
  /// key must be the sender's (for UPDATE with a new key, the new one must be), only UPDATE may
  /// change a key, and every field must parse and stay within ``Limits``.
  public init(checking description: Cunicu_Pdisc_PeerDescription, sender: Key) throws(DiscoveryRefusal) {
    if case .UNRECOGNIZED(let value) = description.change {
      throw DiscoveryRefusal(.malformed, "change \(value) is none of ADD, REMOVE, UPDATE")
    }
    guard let key = try? Key(bytes: description.publicKey) else {
      throw DiscoveryRefusal(.malformed, "public_key is \(description.publicKey.count) bytes, not a 32-byte key")
    }
    var newKey: Key?
    if !description.publicKeyNew.isEmpty {
      guard description.change == .update else {
        throw DiscoveryRefusal(.keyChangeWithoutUpdate, "\("\(description.change)".uppercased()) carries public_key_new; only UPDATE may change a key")
      }
      guard let parsed = try? Key(bytes: description.publicKeyNew) else {
        throw DiscoveryRefusal(.malformed, "public_key_new is \(description.publicKeyNew.count) bytes, not a 32-byte key")
      }
      newKey = parsed
    }
    let announcer = newKey ?? key
    guard announcer == sender else {
      throw DiscoveryRefusal(.senderMismatch, "the announcement is for \(announcer), but \(sender) sealed it")
    }
    guard description.name.utf8.count <= Limits.nameBytes else {
      throw DiscoveryRefusal(.oversized, "the name is \(description.name.utf8.count) bytes (at most \(Limits.nameBytes))")
    }
    guard description.allowedIps.count <= Limits.allowedIPs else {
      throw DiscoveryRefusal(.oversized, "\(description.allowedIps.count) allowed IPs (at most \(Limits.allowedIPs))")
    }
    var allowedIPs: [IPPrefix] = []
    for text in description.allowedIps {
      guard let prefix = IPPrefix(text) else {
        throw DiscoveryRefusal(.malformedAllowedIP, "allowed IP '\(text.prefix(64))' is not an address/length")
      }
      allowedIPs.append(prefix)
    }
    guard description.hosts.count <= Limits.hosts else {
      throw DiscoveryRefusal(.oversized, "\(description.hosts.count) hosts (at most \(Limits.hosts))")
    }
    var hosts: [String: [TransportAddress.IP]] = [:]
    for (host, addresses) in description.hosts {
      guard host.utf8.count <= Limits.nameBytes, addresses.addresses.count <= Limits.addressesPerHost else {
        throw DiscoveryRefusal(.oversized, "host '\(host.prefix(64))' has a name or address list too long")
      }
      var ips: [TransportAddress.IP] = []
      for address in addresses.addresses {
        guard address.addr.count == 4 || address.addr.count == 16, let ip = TransportAddress.IP(bytes: address.addr) else {
          throw DiscoveryRefusal(.malformed, "host '\(host.prefix(64))' has an address of \(address.addr.count) bytes")
        }
        ips.append(ip)
      }
      hosts[host] = ips
    }
    self.init(
      change: description.change, name: description.name, key: key, newKey: newKey, allowedIPs: allowedIPs, hosts: hosts,
      repeatsUntilAnswered: description.buildInfo.builtBy == Self.warrenBuilder)
  }

  /// The wire form, with `buildInfo` (whose `built_by` says whether the sender
  /// ``repeatsUntilAnswered``).
  public func description(buildInfo: Cunicu_BuildInfo) -> Cunicu_Pdisc_PeerDescription {
    var description = Cunicu_Pdisc_PeerDescription()
    description.change = change
    description.name = name
    description.publicKey = .init(key.bytes)
    if let newKey { description.publicKeyNew = .init(newKey.bytes) }
    description.allowedIps = allowedIPs.map(\.description)
    description.buildInfo = buildInfo
    if repeatsUntilAnswered { description.buildInfo.builtBy = Self.warrenBuilder }
    for (host, addresses) in hosts {
      var wire = Cunicu_Pdisc_PeerAddresses()
      wire.addresses = addresses.map { ip in
        var address = Cunicu_Core_IPAddress()
        address.addr = .init(ip.bytes)
        return address
      }
      description.hosts[host] = wire
    }
    return description
  }
}

internal import Foundation
public import WarrenCrypto
public import WarrenDiscovery
public import WarrenPrimitives
internal import WarrenYAML
internal import Yams

/// `wireguard.discovery.<interface>:` peer discovery for one WireGuard interface (docs/discovery.md):
///
/// ```yaml
/// wireguard:
///   interfaces: [wg0]
///   discovery:
///     wg0:
///       community: "a long shared passphrase"   # or community_file: /etc/warren/community
///       hostname: alice                         # default: this machine's host name
///       allowed_ips: [10.99.0.1/32]             # default: the interface's addresses, /32 and /128
///       hosts: { alice.mesh: [10.99.0.1] }      # extra names announced
///       accept: [<base64 key>]                  # learn only these keys (default: any)
///       deny: [<base64 key>]                    # never learn these
///       max_peers: 256
///       peer_expiry: 1h                         # remove peers silent this long (default: never)
/// ```
public struct DiscoveryConfiguration: Sendable, Equatable {
  /// The community passphrase (its bytes; a `community_file` loses one trailing newline).
  public var passphrase: String
  public var hostname: String?
  public var allowedIPs: [IPPrefix]?
  public var hosts: [String: [TransportAddress.IP]] = [:]
  public var accept: Set<Key> = []
  public var deny: Set<Key> = []
  public var maxPeers = 256
  public var peerExpiry: Duration?

  public init(passphrase: String) {
    self.passphrase = passphrase
  }
}

extension YAMLReader {
  /// `wireguard.discovery`: one entry per interface, each one of `interfaces`.
  func discovery(_ node: Node, interfaces: [String]) throws(ConfigurationError) -> [String: DiscoveryConfiguration] {
    var result: [String: DiscoveryConfiguration] = [:]
    for (interface, keyNode, settings) in try mapping(node, "wireguard.discovery", known: []) {
      guard interfaces.contains(interface) else {
        throw error(keyNode, "wireguard.discovery.\(interface)", "'\(interface)' is not one of wireguard.interfaces")
      }
      result[interface] = try discoverySettings(settings, field: "wireguard.discovery.\(interface)")
    }
    return result
  }

  private func discoverySettings(_ node: Node, field: String) throws(ConfigurationError) -> DiscoveryConfiguration {
    let known: Set<String> = ["community", "community_file", "hostname", "allowed_ips", "hosts", "accept", "deny", "max_peers", "peer_expiry"]
    let entries = try mapping(node, field, known: known)
    var passphrase: String?
    for (option, _, value) in entries where option == "community" || option == "community_file" {
      guard passphrase == nil else { throw error(value, "\(field).\(option)", "give community or community_file, not both") }
      if option == "community" {
        passphrase = try string(value, "\(field).community")
      } else {
        let path = try string(value, "\(field).community_file")
        guard var text = try? String(contentsOfFile: path, encoding: .utf8) else {
          throw error(value, "\(field).community_file", "cannot read \(path)")
        }
        if text.hasSuffix("\n") { text.removeLast() }
        passphrase = text
      }
    }
    guard let passphrase else { throw error(node, "\(field).community", "missing: the community passphrase (or community_file)") }
    var settings = DiscoveryConfiguration(passphrase: passphrase)
    for (option, _, value) in entries {
      let name = "\(field).\(option)"
      switch option {
      case "hostname":
        let text = try string(value, name)
        guard !text.isEmpty, text.utf8.count <= Announcement.Limits.nameBytes else { throw error(value, name, "expected a host name") }
        settings.hostname = text
      case "allowed_ips":
        var prefixes: [IPPrefix] = []
        for text in try strings(value, name) {
          guard let prefix = IPPrefix(text) else { throw error(value, name, "'\(text)' is not ADDRESS/LENGTH (like 10.99.0.1/32)") }
          prefixes.append(prefix)
        }
        settings.allowedIPs = prefixes
      case "hosts":
        for (host, _, addresses) in try mapping(value, name, known: []) {
          var ips: [TransportAddress.IP] = []
          for text in try strings(addresses, "\(name).\(host)") {
            guard let ip = TransportAddress.IP(text) else { throw error(addresses, "\(name).\(host)", "'\(text)' is not an IP address") }
            ips.append(ip)
          }
          settings.hosts[host] = ips
        }
      case "accept", "deny":
        var keys: Set<Key> = []
        for text in try strings(value, name) {
          guard let key = try? Key(base64: text) else { throw error(value, name, "'\(text)' is not a base64 public key") }
          keys.insert(key)
        }
        if option == "accept" { settings.accept = keys } else { settings.deny = keys }
      case "max_peers":
        let text = try string(value, name)
        guard let count = Int(text), count >= 1 else { throw error(value, name, "expected a number of peers, at least 1, got '\(text)'") }
        settings.maxPeers = count
      case "peer_expiry":
        let expiry = try duration(value, name)
        guard expiry >= .seconds(900) else {
          throw error(value, name, "at least 15m: members announce themselves every 5 minutes, and one lost announcement must not remove a peer")
        }
        settings.peerExpiry = expiry
      default: break
      }
    }
    return settings
  }
}

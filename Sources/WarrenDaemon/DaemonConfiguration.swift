internal import Foundation
public import WarrenCrypto
public import WarrenDiscovery
public import WarrenICE
public import WarrenYAML
internal import Yams
public import WarrenPrimitives

/// `warren up --config FILE` (YAML). Unknown keys and bad values are errors naming the file, the
/// line and the field:
///
/// ```yaml
/// private_key: <base64>            # or private_key_file: /etc/warren/private.key
/// backends: [grpc://signal.example:8080]
/// ice:
///   urls: [stun:stun.example:3478, "turn:relay.example:3478"]
///   username: alice                # TURN credentials for turn: URLs without their own
///   password: secret
///   candidate_types: [host, srflx, relay]
///   interfaces_include: ["*"]
///   interfaces_exclude: ["wg*"]
///   network_types: [udp4, udp6]
///   port_range: 49152-65535
///   check_interval: 50ms
///   disconnected_timeout: 5s
///   failed_timeout: 30s
///   keepalive_interval: 2s
///   relay_nomination_delay: 0s     # relay first; a duration: how long a working relay waits for a direct pair
/// control_socket: /run/warren/warren.sock  # for warren status and warren ping
/// metrics: 127.0.0.1:9465          # Prometheus metrics at /metrics (off without)
/// wireguard:                       # sessions for the peers of these interfaces, with their keys
///   interfaces: [wg0]
///   skip_static_endpoints: false   # true, or some interfaces ([wg0]): leave peers that have an endpoint alone
///   data_path: auto                # auto | kernel | userspace (docs/wireguard.md, "Data paths")
///   addresses_from_key: [10.237.0.0/16, fc2f:9a4d::/32]  # each interface's address in these, from its key, as cunicu's
///   discovery:                     # peer discovery per interface (DiscoveryConfiguration, docs/discovery.md)
///     wg0: { community: "a long shared passphrase" }
/// peers:
///   bob:
///     public_key: <base64>
///     forward: 127.0.0.1:51820     # the application (WireGuard's listen port)
///     listen: 127.0.0.1:0          # where the application sends (default: a free port)
/// ```
public struct DaemonConfiguration: Sendable {
  public struct Peer: Sendable, Equatable {
    public var name: String
    public var publicKey: Key
    public var forward: TransportAddress
    public var listen: TransportAddress
  }

  /// The key of the configured `peers`' sessions; optional when WireGuard interfaces bring theirs.
  public var privateKey: PrivateKey?
  /// `wireguard:`: interfaces whose peers get sessions, their own key as the signaling key.
  public var wireguard = WireGuardSettings()

  public struct WireGuardSettings: Sendable, Equatable {
    public var interfaces: [String] = []
    /// The interfaces whose peers are left alone when they already have an endpoint when first
    /// seen (`skip_static_endpoints: true` names every interface).
    public var skipStaticEndpoints: Set<String> = []
    /// How often the interfaces are read for added and removed peers and their counters.
    public var pollInterval: Duration = .seconds(2)
    /// Which data paths may carry the peers' traffic: the kernel's port redirection on direct
    /// paths (`auto`), or always the userspace proxy.
    public var dataPath: DataPathMode = .auto
    /// Peer discovery, by interface (docs/discovery.md).
    public var discovery: [String: DiscoveryConfiguration] = [:]
    /// Prefixes each interface gets an address in, derived from its public key as cunicu's
    /// autocfg does (``KeyDerivedAddress``); peer discovery announces them. Empty: none.
    public var addressesFromKey: [IPPrefix] = []

    public init(
      interfaces: [String] = [], skipStaticEndpoints: Set<String> = [], pollInterval: Duration = .seconds(2),
      dataPath: DataPathMode = .auto
    ) {
      self.interfaces = interfaces
      self.skipStaticEndpoints = skipStaticEndpoints
      self.pollInterval = pollInterval
      self.dataPath = dataPath
    }
  }
  public var backends: [String]
  public var iceURLs: [String] = []
  /// `iceURLs`, parsed.
  public var iceServers: [ICEServerURL] = []
  /// `ice.username`/`ice.password`: TURN credentials for `turn:` URLs that carry none.
  public var turnUsername: String?
  public var turnPassword: String?
  /// `ice.candidate_types`: the kinds of local candidates gathered and signaled.
  public var candidateTypes: Set<CandidateType> = [.host, .serverReflexive, .peerReflexive, .relay]
  public var interfaces = InterfaceFilter()
  public var portRange: ClosedRange<Int>?
  public var ice = ICEConfiguration()
  public var peers: [Peer] = []
  /// The control socket `warren status` and `warren ping` talk to (``ControlSocket/defaultPath()``
  /// when `nil`).
  public var controlSocket: String?
  /// `metrics: HOST:PORT`: where Prometheus metrics are served (`/metrics`); none when `nil`.
  public var metrics: TransportAddress?

  /// Interface selection, as `InterfaceAddresses` takes it.
  public struct InterfaceFilter: Sendable {
    public var include = ["*"]
    public var exclude: [String] = []
    public var ipv4 = true
    public var ipv6 = true
  }

  /// Reads and checks a configuration file.
  public static func load(path: String) throws(ConfigurationError) -> DaemonConfiguration {
    let (reader, root) = try YAMLReader.load(path: path)
    return try reader.configuration(root)
  }

  /// Checks a configuration given as text; `file` names it in errors.
  public static func parse(_ text: String, file: String) throws(ConfigurationError) -> DaemonConfiguration {
    let reader = YAMLReader(file: file)
    return try reader.configuration(try reader.parse(text))
  }
}

/// The daemon's own kinds of values, and the walk over its configuration.
extension YAMLReader {
  fileprivate func key(_ node: Node, _ field: String) throws(ConfigurationError) -> Key {
    let text = try string(node, field)
    do { return try Key(base64: text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
      throw self.error(node, field, "not a WireGuard key: \(error.message)")
    }
  }

  fileprivate func address(_ node: Node, _ field: String) throws(ConfigurationError) -> TransportAddress {
    let text = try string(node, field)
    guard let address = TransportAddress(parsing: text) else {
      throw error(node, field, "expected IP:PORT (like 127.0.0.1:51820 or [::1]:51820), got '\(text)'")
    }
    return address
  }

  fileprivate func configuration(_ root: Node) throws(ConfigurationError) -> DaemonConfiguration {
    var privateKey: PrivateKey?
    var backends: [String] = []
    var ice = ICEConfiguration()
    var urls: [String] = []
    var servers: [ICEServerURL] = []
    var turnUsername: String?
    var turnPassword: String?
    var candidateTypes: Set<CandidateType> = [.host, .serverReflexive, .peerReflexive, .relay]
    var filter = DaemonConfiguration.InterfaceFilter()
    var portRange: ClosedRange<Int>?
    var peers: [DaemonConfiguration.Peer] = []
    var controlSocket: String?
    var wireguard = DaemonConfiguration.WireGuardSettings()
    let known: Set<String> = ["private_key", "private_key_file", "backends", "ice", "peers", "control_socket", "wireguard", "metrics"]
    var metrics: TransportAddress?
    for (name, keyNode, value) in try mapping(root, "", known: known) {
      switch name {
      case "private_key":
        guard privateKey == nil else { throw error(keyNode, name, "give private_key or private_key_file, not both") }
        privateKey = PrivateKey(try key(value, name))
      case "private_key_file":
        guard privateKey == nil else { throw error(keyNode, name, "give private_key or private_key_file, not both") }
        let path = try string(value, name)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
          throw error(value, name, "cannot read \(path)")
        }
        do { privateKey = try PrivateKey(base64: text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
          throw self.error(value, name, "\(path) does not hold a WireGuard key: \(error.message)")
        }
      case "backends":
        backends = try strings(value, name)
      case "wireguard":
        var skipStatic: (node: Node, all: Bool, names: [String])?
        var discovery: Node?
        for (option, _, setting) in try mapping(
          value, "wireguard", known: ["interfaces", "skip_static_endpoints", "poll_interval", "data_path", "discovery", "addresses_from_key"])
        {
          let field = "wireguard.\(option)"
          switch option {
          case "interfaces":
            wireguard.interfaces = try strings(setting, field)
            for name in wireguard.interfaces where name.isEmpty || name.count > 15 || name.contains("/") {
              throw error(setting, field, "'\(name)' is not an interface name")
            }
          case "skip_static_endpoints":
            // true or false for every interface, or the interfaces it applies to.
            if setting.sequence != nil {
              skipStatic = (setting, false, try strings(setting, field))
            } else {
              do { skipStatic = (setting, try bool(setting, field), []) } catch {
                throw self.error(setting, field, "expected true or false, or a list of interfaces")
              }
            }
          case "poll_interval": wireguard.pollInterval = try duration(setting, field)
          case "data_path":
            let text = try string(setting, field)
            guard let mode = DataPathMode(rawValue: text) else {
              throw error(setting, field, "expected auto, kernel or userspace, got '\(text)'")
            }
            wireguard.dataPath = mode
          case "discovery": discovery = setting
          case "addresses_from_key":
            wireguard.addressesFromKey = []
            for text in try strings(setting, field) {
              guard let prefix = IPPrefix(text) else {
                throw error(setting, field, "'\(text)' is not a prefix (ADDRESS/LENGTH, as 10.237.0.0/16 or fc2f:9a4d::/32)")
              }
              guard prefix.length < (prefix.address.isIPv4 ? 32 : 128) else {
                throw error(setting, field, "'\(text)' leaves no host bits to derive an address in")
              }
              wireguard.addressesFromKey.append(prefix)
            }
          default: break
          }
        }
        if let discovery { wireguard.discovery = try self.discovery(discovery, interfaces: wireguard.interfaces) }
        if let skipStatic {
          for name in skipStatic.names where !wireguard.interfaces.contains(name) {
            throw error(skipStatic.node, "wireguard.skip_static_endpoints", "'\(name)' is not one of wireguard.interfaces")
          }
          wireguard.skipStaticEndpoints = skipStatic.all ? Set(wireguard.interfaces) : Set(skipStatic.names)
        }
      case "metrics":
        metrics = try address(value, name)
      case "control_socket":
        let path = try string(value, name)
        guard path.hasPrefix("/") else { throw error(value, name, "expected an absolute path, got '\(path)'") }
        controlSocket = path
      case "ice":
        let known: Set<String> = [
          "urls", "candidate_types", "network_types", "interfaces_include", "interfaces_exclude", "port_range",
          "check_interval", "disconnected_timeout", "failed_timeout", "keepalive_interval", "username", "password",
          "relay_nomination_delay",
        ]
        for (option, _, setting) in try mapping(value, "ice", known: known) {
          let field = "ice.\(option)"
          switch option {
          case "urls":
            urls = try strings(setting, field)
            for url in urls {
              do { servers.append(try ICEServerURL(url)) } catch { throw self.error(setting, field, error.message) }
            }
          case "candidate_types":
            let types: [String: CandidateType] = ["host": .host, "srflx": .serverReflexive, "prflx": .peerReflexive, "relay": .relay]
            candidateTypes = []
            for name in try strings(setting, field) {
              guard let type = types[name] else { throw error(setting, field, "unknown candidate type '\(name)' (host, srflx, prflx, relay)") }
              candidateTypes.insert(type)
            }
            if candidateTypes.isEmpty { throw error(setting, field, "no candidate type left: nothing could connect") }
          case "network_types":
            let types = try strings(setting, field)
            for type in types where !["udp4", "udp6"].contains(type) {
              throw error(setting, field, "unsupported network type '\(type)' (udp4, udp6)")
            }
            filter.ipv4 = types.contains("udp4")
            filter.ipv6 = types.contains("udp6")
          case "interfaces_include": filter.include = try strings(setting, field)
          case "interfaces_exclude": filter.exclude = try strings(setting, field)
          case "port_range":
            let text = try string(setting, field)
            let parts = text.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let low = parts[0], let high = parts[1], 1 <= low, low <= high, high <= 65535 else {
              throw error(setting, field, "expected LOW-HIGH within 1-65535, got '\(text)'")
            }
            portRange = low...high
          case "check_interval": ice.checkInterval = try duration(setting, field)
          case "disconnected_timeout": ice.disconnectedTimeout = try duration(setting, field)
          case "failed_timeout": ice.failedTimeout = try duration(setting, field)
          case "keepalive_interval": ice.keepaliveInterval = try duration(setting, field)
          case "relay_nomination_delay": ice.relayNominationDelay = try duration(setting, field, allowZero: true)
          case "username": turnUsername = try string(setting, field)
          case "password": turnPassword = try string(setting, field)
          default: break
          }
        }
        if ice.failedTimeout < ice.disconnectedTimeout {
          throw error(value, "ice.failed_timeout", "must not be shorter than ice.disconnected_timeout")
        }
      case "peers":
        // `peers:` with nothing under it: no peers yet (they can come with a reload).
        if let scalar = value.scalar, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" { break }
        for (peerName, _, peerNode) in try mapping(value, "peers", known: []) {
          let field = "peers.\(peerName)"
          var publicKey: Key?
          var forward: TransportAddress?
          var listen = TransportAddress(ip: .v4(0x7f00_0001), port: 0)
          for (option, _, setting) in try mapping(peerNode, field, known: ["public_key", "forward", "listen"]) {
            switch option {
            case "public_key": publicKey = try key(setting, "\(field).public_key")
            case "forward": forward = try address(setting, "\(field).forward")
            case "listen": listen = try address(setting, "\(field).listen")
            default: break
            }
          }
          guard let publicKey else { throw error(peerNode, "\(field).public_key", "missing") }
          guard let forward else { throw error(peerNode, "\(field).forward", "missing (where this peer's datagrams go, like 127.0.0.1:51820)") }
          if let other = peers.first(where: { $0.publicKey == publicKey }) {
            throw error(peerNode, "\(field).public_key", "is also the key of peer '\(other.name)'")
          }
          peers.append(.init(name: peerName, publicKey: publicKey, forward: forward, listen: listen))
        }
      default:
        break
      }
    }
    if privateKey == nil && (wireguard.interfaces.isEmpty || !peers.isEmpty) {
      throw error(root, "private_key", "missing (or give private_key_file, or wireguard.interfaces instead of peers)")
    }
    guard !backends.isEmpty else { throw error(root, "backends", "missing: at least one signaling backend URL") }
    for peer in peers where peer.publicKey == privateKey?.publicKey {
      throw error(root, "peers.\(peer.name).public_key", "is our own public key")
    }
    var configuration = DaemonConfiguration(privateKey: privateKey, backends: backends)
    configuration.wireguard = wireguard
    configuration.metrics = metrics
    configuration.iceURLs = urls
    configuration.iceServers = servers
    configuration.candidateTypes = candidateTypes
    configuration.turnUsername = turnUsername
    configuration.turnPassword = turnPassword
    configuration.interfaces = filter
    configuration.portRange = portRange
    configuration.ice = ice
    // Without host and server-reflexive candidates only relayed ones remain: pair nothing else,
    // so that no direct address is ever revealed in a check.
    if candidateTypes.isDisjoint(with: [.host, .serverReflexive]) && candidateTypes.contains(.relay) {
      configuration.ice.relayOnly = true
    }
    configuration.peers = peers
    configuration.controlSocket = controlSocket
    return configuration
  }
}

import Foundation
import Testing
import WarrenCrypto
import WarrenDaemon
import WarrenDiscovery
import WarrenYAML
import WarrenICE
import WarrenPrimitives

@Suite("warren up configuration")
struct DaemonConfigurationTests {
  let good = """
    private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=
    backends:
      - grpc://127.0.0.1:8080?insecure=true
    ice:
      urls: [stun:198.51.100.10:3478]
      interfaces_exclude: [wg*]
      network_types: [udp4]
      port_range: 49152-49200
      check_interval: 20ms
      disconnected_timeout: 5s
      failed_timeout: 30s
      keepalive_interval: 2s
    peers:
      bob:
        public_key: 98Xk81bU6FxnoD8E25PgEvgkZiUubGAPPTr2k0zZESQ=
        forward: 127.0.0.1:51820
        listen: 127.0.0.1:40001
    """

  @Test("a full configuration reads into its values")
  func full() throws {
    let configuration = try DaemonConfiguration.parse(good, file: "warren.yaml")
    #expect(configuration.privateKey?.publicKey.base64 == "rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=")
    #expect(configuration.backends == ["grpc://127.0.0.1:8080?insecure=true"])
    #expect(configuration.iceURLs == ["stun:198.51.100.10:3478"])
    #expect(configuration.interfaces.exclude == ["wg*"])
    #expect(configuration.interfaces.ipv4 && !configuration.interfaces.ipv6)
    #expect(configuration.portRange == 49152...49200)
    #expect(configuration.ice.checkInterval == .milliseconds(20))
    #expect(configuration.ice.failedTimeout == .seconds(30))
    #expect(configuration.peers.count == 1)
    #expect(configuration.peers[0].name == "bob")
    #expect(configuration.peers[0].forward.description == "127.0.0.1:51820")
    #expect(configuration.peers[0].listen.port == 40001)
  }

  @Test("addresses_from_key: cunicu's prefixes, each interface's address in them from its key")
  func addressesFromKey() throws {
    let configuration = try DaemonConfiguration.parse(
      "backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [wg0]\n  addresses_from_key: [10.237.0.0/16, \"fc2f:9a4d::/32\"]",
      file: "warren.yaml")
    #expect(configuration.wireguard.addressesFromKey == [IPPrefix("10.237.0.0/16")!, IPPrefix("fc2f:9a4d::/32")!])
    #expect(try DaemonConfiguration.parse(good, file: "warren.yaml").wireguard.addressesFromKey.isEmpty)
  }

  @Test("mistakes name the file, the line and the field", arguments: [
    ("colour: blue", "warren.yaml:1: colour: unknown key"),
    ("private_key: nope\nbackends: [\"inprocess:\"]", "warren.yaml:1: private_key: not a WireGuard key"),
    ("backends: [\"inprocess:\"]", "private_key: missing"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=", "backends: missing"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\nice:\n  check_interval: fast",
     "warren.yaml:4: ice.check_interval: expected a positive duration"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\nice:\n  port_range: 9-1",
     "warren.yaml:4: ice.port_range: expected LOW-HIGH"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\nice:\n  tcp: true",
     "warren.yaml:4: ice.tcp: unknown key"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\npeers:\n  bob:\n    public_key: 98Xk81bU6FxnoD8E25PgEvgkZiUubGAPPTr2k0zZESQ=\n    forward: localhost",
     "warren.yaml:6: peers.bob.forward: expected IP:PORT"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\npeers:\n  bob:\n    forward: 127.0.0.1:1",
     "peers.bob.public_key: missing"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\npeers:\n  me:\n    public_key: rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=\n    forward: 127.0.0.1:1",
     "peers.me.public_key: is our own public key"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\nice:\n  urls: [\"stun://198.51.100.1\"]",
     "warren.yaml:4: ice.urls: 'stun://198.51.100.1': no '//' after 'stun:' (RFC 7064: stun:host:port)"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\nice:\n  urls: [\"http://x\"]",
     "warren.yaml:4: ice.urls: 'http://x': expected stun:, turn:, turns: or grpc://"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\nice:\n  urls: [\"stuns:stun.example.net\"]",
     "warren.yaml:4: ice.urls: 'stuns:stun.example.net': STUN over TLS (stuns:) is not supported; use stun:, or turns: for a relay over TLS"),
    ("private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\nice:\n  candidate_types: [host, magic]",
     "warren.yaml:4: ice.candidate_types: unknown candidate type 'magic'"),
    ("backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [wg0]\n  addresses_from_key: [10.237.0.0]",
     "warren.yaml:4: wireguard.addresses_from_key: '10.237.0.0' is not a prefix (ADDRESS/LENGTH"),
    ("backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [wg0]\n  addresses_from_key: [10.237.0.1/32]",
     "wireguard.addresses_from_key: '10.237.0.1/32' leaves no host bits"),
    ("private_key: [a, b", "not valid YAML"),
    ("", "the file is empty"),
  ])
  func errors(text: String, expected: String) {
    do {
      _ = try DaemonConfiguration.parse(text, file: "warren.yaml")
      Issue.record("accepted: \(text)")
    } catch {
      #expect(error.description.contains(expected), "\(error)")
    }
  }

  @Test("ICE server URLs: STUN and TURN forms of RFC 7064/7065, with cunicu's credentials")
  func iceServerURLs() throws {
    let stun = try ICEServerURL("stun:stun.example.net")
    #expect(stun.scheme == .stun && stun.host == "stun.example.net" && stun.port == 3478)
    let v6 = try ICEServerURL("stun:[2001:db8::1]:3479")
    #expect(v6.host == "2001:db8::1" && v6.port == 3479)
    let turn = try ICEServerURL("turn:alice:pa%40ss@relay.example.net:3480?transport=tcp")
    #expect(turn.scheme == .turn && turn.username == "alice" && turn.password == "pa@ss" && turn.host == "relay.example.net")
    #expect(turn.port == 3480 && turn.transport == "tcp")
    #expect(try ICEServerURL("turns:relay.example.net").port == 5349)
    let registry = try ICEServerURL("grpc://signal.example.net:8443?insecure=true")
    #expect(registry.scheme == .grpc && registry.host == "signal.example.net" && registry.port == 8443)
    for bad in [
      "stun:", "stun:host:0", "stun:host:99999", "turn:host?transport=sctp", "stun:[2001:db8::1", "ftp:x", "turn:host?colour=red",
      "stun:user:pass@host", "stun:host?transport=udp", "turn:a%zz:b@host",
    ] {
      #expect(throws: ConfigurationProblem.self, "\(bad)") { try ICEServerURL(bad) }
    }
  }

  @Test("candidate_types limits what is gathered; urls are parsed")
  func candidateTypes() throws {
    let text = good.replacingOccurrences(of: "  urls: [stun:198.51.100.10:3478]", with: "  urls: [stun:198.51.100.10:3478]\n  candidate_types: [srflx]")
    let configuration = try DaemonConfiguration.parse(text, file: "warren.yaml")
    #expect(configuration.candidateTypes == [.serverReflexive])
    #expect(configuration.iceServers.map(\.host) == ["198.51.100.10"])
  }

  @Test("relay-only: candidate_types without host and srflx pair relayed candidates only; TURN credentials")
  func relayOnly() throws {
    let text = good.replacingOccurrences(
      of: "  urls: [stun:198.51.100.10:3478]",
      with: "  urls: [\"turn:198.51.100.10:3478\"]\n  candidate_types: [relay]\n  username: alice\n  password: secret")
    let configuration = try DaemonConfiguration.parse(text, file: "warren.yaml")
    #expect(configuration.ice.relayOnly && configuration.candidateTypes == [.relay])
    #expect(configuration.turnUsername == "alice" && configuration.turnPassword == "secret")
    #expect(try !DaemonConfiguration.parse(good, file: "warren.yaml").ice.relayOnly)
  }

  @Test("wireguard.interfaces: no private key or peers needed; bad names and switches refused")
  func wireguard() throws {
    let text = "backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [wg0, wg1]\n  skip_static_endpoints: true\n  poll_interval: 500ms"
    let configuration = try DaemonConfiguration.parse(text, file: "warren.yaml")
    #expect(configuration.privateKey == nil)
    #expect(configuration.wireguard == .init(interfaces: ["wg0", "wg1"], skipStaticEndpoints: ["wg0", "wg1"], pollInterval: .milliseconds(500)))
    let one = try DaemonConfiguration.parse(
      "backends: [\"inprocess:\"]\nwireguard:\n  skip_static_endpoints: [wg1]\n  interfaces: [wg0, wg1]", file: "warren.yaml")
    #expect(one.wireguard.skipStaticEndpoints == ["wg1"])
    #expect(try DaemonConfiguration.parse("backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [wg0]", file: "w.yaml").wireguard.skipStaticEndpoints == [])
    #expect {
      try DaemonConfiguration.parse("backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [wg0]\n  skip_static_endpoints: [wg9]", file: "w.yaml")
    } throws: {
      "\($0)".contains("w.yaml:4: wireguard.skip_static_endpoints: 'wg9' is not one of wireguard.interfaces")
    }
    #expect { try DaemonConfiguration.parse("backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [a/b]", file: "w.yaml") } throws: {
      "\($0)".contains("w.yaml:3: wireguard.interfaces: 'a/b' is not an interface name")
    }
    #expect { try DaemonConfiguration.parse("backends: [\"inprocess:\"]\nwireguard:\n  skip_static_endpoints: maybe", file: "w.yaml") } throws: {
      "\($0)".contains("expected true or false, or a list of interfaces")
    }
    #expect { try DaemonConfiguration.parse("backends: [\"inprocess:\"]", file: "w.yaml") } throws: { "\($0)".contains("private_key: missing") }
  }

  @Test("wireguard.data_path: auto by default, kernel or userspace; anything else refused naming the line")
  func dataPath() throws {
    let base = "backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [wg0]\n"
    #expect(try DaemonConfiguration.parse(base, file: "w.yaml").wireguard.dataPath == .auto)
    for mode in DataPathMode.allCases {
      #expect(try DaemonConfiguration.parse(base + "  data_path: \(mode.rawValue)", file: "w.yaml").wireguard.dataPath == mode)
    }
    #expect { try DaemonConfiguration.parse(base + "  data_path: fast", file: "w.yaml") } throws: {
      "\($0)".contains("w.yaml:4: wireguard.data_path: expected auto, kernel or userspace, got 'fast'")
    }
  }

  @Test("wireguard.discovery: per interface, every setting read; mistakes named with their line")
  func discovery() throws {
    let base = "backends: [\"inprocess:\"]\nwireguard:\n  interfaces: [wg0]\n  discovery:\n"
    let key = PrivateKey.generate().publicKey
    let full = base + [
      "    wg0:",
      "      community: \"correct horse\"",
      "      hostname: alice",
      "      allowed_ips: [ 10.99.0.1/32, \"fd00::1/128\" ]",
      "      hosts: { alice.mesh: [ 10.99.0.1 ] }",
      "      accept: [ \"\(key.base64)\" ]",
      "      max_peers: 10",
      "      peer_expiry: 1h",
    ].joined(separator: "\n") + "\n"
    let settings = try #require(try DaemonConfiguration.parse(full, file: "d.yaml").wireguard.discovery["wg0"])
    #expect(settings.passphrase == "correct horse" && settings.hostname == "alice" && settings.maxPeers == 10)
    #expect(settings.allowedIPs?.map(\.description) == ["10.99.0.1/32", "fd00::1/128"])
    #expect(settings.hosts["alice.mesh"]?.map(\.description) == ["10.99.0.1"] && settings.accept == [key])
    #expect(settings.peerExpiry == .seconds(3600))
    let mistakes: [(String, String)] = [
      ("    wg1: { community: x }\n", "d.yaml:5: wireguard.discovery.wg1: 'wg1' is not one of wireguard.interfaces"),
      ("    wg0: { hostname: a }\n", "wireguard.discovery.wg0.community: missing"),
      ("    wg0: { community: x, allowed_ips: [ 10.99.0.1 ] }\n", "'10.99.0.1' is not ADDRESS/LENGTH"),
      ("    wg0: { community: x, peer_expiry: 1m }\n", "wireguard.discovery.wg0.peer_expiry: at least 15m"),
      ("    wg0: { community: x, deny: [ nope ] }\n", "'nope' is not a base64 public key"),
      ("    wg0: { community: x, max_peers: 0 }\n", "expected a number of peers, at least 1"),
      ("    wg0: { community: x, colour: red }\n", "wireguard.discovery.wg0.colour: unknown key"),
    ]
    for (text, message) in mistakes {
      #expect { try DaemonConfiguration.parse(base + text, file: "d.yaml") } throws: { "\($0)".contains(message) }
    }
  }

  @Test("relay_nomination_delay: relay first by default, a grace period when set; other durations must be positive")
  func zeroDelay() throws {
    let base = "private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\nbackends: [\"inprocess:\"]\nice:\n"
    #expect(try DaemonConfiguration.parse(base + "  relay_nomination_delay: 0s", file: "w.yaml").ice.relayNominationDelay == .zero)
    #expect(try DaemonConfiguration.parse(base + "  relay_nomination_delay: 250ms", file: "w.yaml").ice.relayNominationDelay == .milliseconds(250))
    #expect(try DaemonConfiguration.parse(base + "  check_interval: 50ms", file: "w.yaml").ice.relayNominationDelay == .zero)
    #expect { try DaemonConfiguration.parse(base + "  check_interval: 0s", file: "w.yaml") } throws: {
      "\($0)".contains("w.yaml:4: ice.check_interval: expected a positive duration like 50ms, 2s or 1m, got '0s'")
    }
    #expect { try DaemonConfiguration.parse(base + "  relay_nomination_delay: -1s", file: "w.yaml") } throws: {
      "\($0)".contains("ice.relay_nomination_delay: expected a duration like 50ms")
    }
  }

  @Test("a missing file is a clear error")
  func missingFile() {
    #expect { try DaemonConfiguration.load(path: "/nonexistent/warren.yaml") } throws: {
      "\($0)".contains("/nonexistent/warren.yaml: cannot read the file")
    }
  }
}

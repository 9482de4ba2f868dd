internal import WarrenCluster
internal import WarrenDaemon
internal import WarrenKubernetes
internal import WarrenSTUN
internal import WarrenSignalServer
internal import WarrenSignaling

extension FuzzTarget {
  /// A line on the cluster bus (PostgreSQL NOTIFY payload, docs/cluster.md): what parses must
  /// print as a line that parses to the same frame.
  static let busFrame = FuzzTarget(name: "bus-frame", summary: "one cluster bus frame (a NOTIFY payload)") { bytes in
    guard let frame = try? BusFrame(parsing: String(decoding: bytes, as: UTF8.self)) else { return .refused }
    precondition((try? BusFrame(parsing: frame.text)) == frame, "a bus frame changed when printed and parsed again")
    return .accepted
  }

  /// The daemon's YAML configuration file (docs/session.md's defaults, `warren up --config`).
  static let daemonConfiguration = FuzzTarget(name: "daemon-config", summary: "a daemon configuration file (YAML)") { bytes in
    (try? DaemonConfiguration.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")) == nil ? .refused : .accepted
  }

  /// A kubeconfig file, as the Kubernetes backend reads it. Files it names are looked for under
  /// a folder that does not exist.
  static let kubeconfig = FuzzTarget(name: "kubeconfig", summary: "a kubeconfig file (YAML)") { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    return (try? KubeConfig.parse(text, file: "fuzz-kubeconfig", directory: "/nonexistent-fuzz")) == nil ? .refused : .accepted
  }

  /// The signal server's allowed-keys file.
  static let allowedKeys = FuzzTarget(name: "allowed-keys", summary: "an allowed-keys file") { bytes in
    (try? AllowedKeys(parsing: String(decoding: bytes, as: UTF8.self), file: "fuzz-allowed-keys")) == nil ? .refused : .accepted
  }

  /// Every URL a user or a configuration file gives Warren: signaling backends, cluster and relay
  /// URLs, ICE servers (RFC 7064/7065 `stun:`/`turn:` URIs).
  static let urls = FuzzTarget(name: "urls", summary: "backend, cluster, relay and STUN/TURN URLs") { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    var parsed = 0
    if (try? BackendURL(text)) != nil { parsed += 1 }
    if (try? ClusterURL(text)) != nil { parsed += 1 }
    if (try? RelayURL(text)) != nil { parsed += 1 }
    if (try? ICEServerURL(text)) != nil { parsed += 1 }
    if (try? STUNURI(text, parameters: ["transport"])) != nil { parsed += 1 }
    return parsed > 0 ? .accepted : .refused
  }
}

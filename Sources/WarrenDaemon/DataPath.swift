public import WarrenPrimitives
public import WarrenICE

/// How a WireGuard peer's datagrams travel between WireGuard's socket and the network
/// (docs/wireguard.md, "Data paths").
public enum DataPath: String, Sendable, Hashable, Codable, CustomStringConvertible {
  /// nftables rewrites the ports of the selected pair's datagrams; they never leave the kernel.
  case kernel
  /// WireGuard sends to Warren's proxy socket, which sends over the ICE agent (any pair,
  /// relays included).
  case userspace

  public var description: String { rawValue }
}

/// `wireguard.data_path`: which data paths Warren may use.
public enum DataPathMode: String, Sendable, Hashable, CaseIterable {
  /// The kernel path whenever it can carry the selected pair, else the userspace proxy.
  case auto
  /// As `auto`, but the daemon does not start when it cannot program nftables.
  case kernel
  /// Always the userspace proxy.
  case userspace
}

/// The data path for a selected pair, and the reason, for the log line and `warren status`.
public struct DataPathChoice: Sendable, Hashable {
  public var path: DataPath
  public var reason: String

  public init(path: DataPath, reason: String) {
    self.path = path
    self.reason = reason
  }

  /// - Parameters:
  ///   - kernelUnavailable: why nftables cannot be programmed, or `nil` when it can.
  ///   - kernelSource: the local address the kernel's routing sends WireGuard's datagrams to the
  ///     pair's remote end from (`nil`: not known). The kernel path rewrites only ports: when the
  ///     routing table prefers another network than the pair's (a second network that came up
  ///     beside the first), WireGuard's datagrams would leave through the wrong NAT, so the proxy,
  ///     whose socket is bound to the pair's address, carries them.
  public init(mode: DataPathMode, pair: CandidatePair, kernelUnavailable: String?, kernelSource: TransportAddress.IP? = nil) {
    if mode == .userspace {
      (path, reason) = (.userspace, "data_path: userspace")
    } else if pair.isRelayed {
      (path, reason) = (.userspace, "the selected pair is relayed (TURN framing needs the userspace proxy)")
    } else if let kernelUnavailable {
      self = .kernelUnavailable(kernelUnavailable)
    } else if let kernelSource, kernelSource != pair.local.base.ip {
      (path, reason) = (
        .userspace,
        "the routing table sends to \(pair.remote.address.ip) from \(kernelSource), not from the pair's \(pair.local.base.ip)"
      )
    } else {
      (path, reason) = (.kernel, "the selected pair is direct (\(pair.local.type) to \(pair.remote.type))")
    }
  }

  /// The userspace path because nftables cannot carry the pair (not here, or it refused).
  static func kernelUnavailable(_ why: String) -> DataPathChoice {
    DataPathChoice(path: .userspace, reason: "the kernel path is unavailable: \(why)")
  }
}

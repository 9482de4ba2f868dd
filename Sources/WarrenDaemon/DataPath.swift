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

  /// - Parameter kernelUnavailable: why nftables cannot be programmed, or `nil` when it can.
  public init(mode: DataPathMode, pair: CandidatePair, kernelUnavailable: String?) {
    if mode == .userspace {
      (path, reason) = (.userspace, "data_path: userspace")
    } else if pair.isRelayed {
      (path, reason) = (.userspace, "the selected pair is relayed (TURN framing needs the userspace proxy)")
    } else if let kernelUnavailable {
      self = .kernelUnavailable(kernelUnavailable)
    } else {
      (path, reason) = (.kernel, "the selected pair is direct (\(pair.local.type) to \(pair.remote.type))")
    }
  }

  /// The userspace path because nftables cannot carry the pair (not here, or it refused).
  static func kernelUnavailable(_ why: String) -> DataPathChoice {
    DataPathChoice(path: .userspace, reason: "the kernel path is unavailable: \(why)")
  }
}

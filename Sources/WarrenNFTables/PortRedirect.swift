public import WarrenPrimitives

/// One peer's traffic kept in the kernel (docs/wireguard.md, "Kernel data path"): datagrams of
/// the selected candidate pair that are not STUN go straight between WireGuard's socket and the
/// network, with only their port rewritten, and never reach Warren.
///
/// - inbound: from `remote` to `local` (the ICE socket), not STUN → destination port becomes
///   `wireGuardPort`;
/// - outbound: from `wireGuardPort` to `remote` → source port becomes `local.port`.
public struct PortRedirect: Hashable, Sendable, CustomStringConvertible {
  /// The selected pair's local base: the address and port of Warren's ICE socket.
  public var local: TransportAddress
  /// The selected pair's remote candidate, which is also WireGuard's endpoint for the peer.
  public var remote: TransportAddress
  /// WireGuard's listen port.
  public var wireGuardPort: UInt16
  /// Names the peer in the rules' comments (`nft list ruleset` shows it).
  public var peer: String

  public init(local: TransportAddress, remote: TransportAddress, wireGuardPort: UInt16, peer: String) {
    self.local = local
    self.remote = remote
    self.wireGuardPort = wireGuardPort
    self.peer = peer
  }

  public var description: String { "\(remote) <-> \(local) <-> WireGuard :\(wireGuardPort)" }
}

public import WarrenPrimitives
internal import Logging
public import WarrenNFTables

/// The kernel data path of every WireGuard peer (docs/wireguard.md): Warren's nftables table,
/// holding each peer's ``PortRedirect``. Every change rewrites the table in one transaction.
public final class KernelDataPath: Sendable {
  private let nftables: NFTables
  private let redirects = Locked<[String: PortRedirect]>([:])

  /// Opens libnftables and removes whatever an earlier run left behind (a daemon that was
  /// killed cannot remove its rules). Throws when nftables cannot be programmed here (no
  /// library, no CAP_NET_ADMIN, no nf_tables in the kernel).
  public init(nftables: NFTables? = nil) throws(NFTablesError) {
    let opened: NFTables
    if let nftables { opened = nftables } else { opened = try NFTables() }
    try opened.execute(RedirectTable.remove())
    self.nftables = opened
  }

  /// Sets (or with `nil` removes) `peer`'s redirection. A refused transaction leaves the table
  /// as it was.
  public func set(_ redirect: PortRedirect?, for peer: String) throws(NFTablesError) {
    try redirects.withLock { (redirects) throws(NFTablesError) in
      var changed = redirects
      changed[peer] = redirect
      guard changed != redirects else { return }
      try nftables.execute(RedirectTable.replace(with: Array(changed.values)))
      redirects = changed
    }
  }

  /// Removes Warren's table (at shutdown): nothing of Warren's stays in the ruleset.
  public func removeAll() throws(NFTablesError) {
    try redirects.withLock { (redirects) throws(NFTablesError) in
      try nftables.execute(RedirectTable.remove())
      redirects = [:]
    }
  }
}

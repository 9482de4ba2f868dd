internal import Logging
internal import WarrenNetlink
internal import WarrenPrimitives
internal import WarrenSignaling

/// Network changes (docs/ice.md, "Path survival"): rtnetlink says an address, a link or the
/// default route changed; the host's addresses are read again and every peer's agent follows —
/// new addresses gathered on and trickled, vanished ones dropped with their pairs (a selected pair
/// among them replaced at once) — and signaling connections made from a vanished address are
/// closed and dialed again.
extension Daemon {
  /// Changes that come together (an address replaced, a link that goes down with its routes)
  /// are applied as one, this long after the first.
  static let networkSettleTime: Duration = .milliseconds(20)

  /// Follows the host's network until cancelled; without rtnetlink (not Linux, or a sandbox
  /// without it), says so once and keeps the addresses of the start.
  func watchNetwork() async {
    let monitor: NetworkMonitor
    do {
      monitor = try await NetworkMonitor(logger: logger)
    } catch {
      logger.warning("cannot follow network changes; host addresses stay those of the start", metadata: ["error": "\(error)"])
      return
    }
    await withTaskCancellationHandler {
      for await changes in monitor.changes {
        logger.debug("network: \(changes.map(\.description).joined(separator: "; "))")
        try? await clock.sleep(until: clock.now + Self.networkSettleTime, tolerance: nil)
        applyNetworkChange(routeOnly: changes.allSatisfy { if case .defaultRoute = $0 { true } else { false } })
      }
    } onCancel: {
      monitor.close()
    }
  }

  /// A peer's agent noticed that this host did not run for `gap` (every agent notices; the first
  /// one acts): connections that were silent that long may be gone from the NATs, so signaling
  /// dials again at once rather than after TCP's keepalive gives up, and the addresses are read
  /// again (the network may have changed meanwhile).
  func resumed(after gap: Duration) {
    guard network.resumed(after: gap, at: clock.now) else { return }
    logger.notice("this host did not run for \(gap) (suspended or stopped); signaling connections are made anew")
    backend.reconnect(ifBoundTo: nil)
    applyNetworkChange()
  }

  /// Reads the host's addresses again and hands what changed to every peer and to signaling.
  /// `routeOnly`: only a default route changed; the peers' selected pairs are checked fast.
  func applyNetworkChange(routeOnly: Bool = false) {
    let (added, removed) = network.refresh()
    if added.isEmpty && removed.isEmpty {
      guard routeOnly else { return }
      logger.info("network: the default route changed; checking every peer's path")
      for link in links {
        link.networkChanged(added: [], removed: [])
        link.reselect()
      }
      return
    }
    logger.notice(
      "network changed: host addresses added \(added.map { "\($0)" }), removed \(removed.map { "\($0)" }.sorted())",
      metadata: ["addresses": "\(network.addresses.map { "\($0)" })"])
    if !removed.isEmpty { backend.reconnect(ifBoundTo: removed) }
    for link in links {
      link.networkChanged(added: added, removed: removed)
      link.reselect()
    }
  }
}

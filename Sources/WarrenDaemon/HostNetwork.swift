internal import WarrenICENIO
internal import WarrenPrimitives

/// This host's addresses for host candidates (the configured interface filters applied), kept
/// current: read at start, and read again whenever the network changes; and when the host was
/// last found to have been suspended.
final class HostNetwork: Sendable {
  private struct State {
    var addresses: [TransportAddress.IP]
    var lastResume: ContinuousClock.Instant?
  }

  private let finder: InterfaceAddresses
  private let state: Locked<State>

  init(_ finder: InterfaceAddresses) {
    self.finder = finder
    state = Locked(State(addresses: finder.list().map(\.ip)))
  }

  /// The addresses now, most preferred first.
  var addresses: [TransportAddress.IP] { state.withLock { $0.addresses } }

  /// Reads the addresses again; returns those that appeared and those that are gone.
  func refresh() -> (added: [TransportAddress.IP], removed: Set<TransportAddress.IP>) {
    let fresh = finder.list().map(\.ip)
    let old = state.withLock { state in defer { state.addresses = fresh }; return state.addresses }
    return (fresh.filter { !old.contains($0) }, Set(old).subtracting(fresh))
  }

  /// Notes that an agent found, at `now`, that the host did not run for `gap`; `true` for the
  /// first agent to say so about that gap (every agent notices, and one should act).
  func resumed(after gap: Duration, at now: ContinuousClock.Instant) -> Bool {
    state.withLock { state in
      defer { state.lastResume = now }
      return state.lastResume.map { now - $0 > gap } ?? true
    }
  }
}

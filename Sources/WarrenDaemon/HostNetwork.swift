internal import Synchronization
internal import WarrenICENIO
internal import WarrenPrimitives

/// This host's addresses for host candidates (the configured interface filters applied), kept
/// current: read at start, and read again whenever the network changes.
final class HostNetwork: Sendable {
  private let finder: InterfaceAddresses
  private let current: Mutex<[TransportAddress.IP]>

  init(_ finder: InterfaceAddresses) {
    self.finder = finder
    current = Mutex(finder.list().map(\.ip))
  }

  /// The addresses now, most preferred first.
  var addresses: [TransportAddress.IP] { current.withLock { $0 } }

  /// Reads the addresses again; returns those that appeared and those that are gone.
  func refresh() -> (added: [TransportAddress.IP], removed: Set<TransportAddress.IP>) {
    let fresh = finder.list().map(\.ip)
    let old = current.withLock { current in defer { current = fresh }; return current }
    return (fresh.filter { !old.contains($0) }, Set(old).subtracting(fresh))
  }
}

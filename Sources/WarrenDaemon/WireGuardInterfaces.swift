internal import WarrenCrypto
internal import WarrenDiscovery
internal import WarrenPrimitives
internal import WarrenWireGuard

/// What the daemon knows of its WireGuard interfaces: the latest reading of each (for status, and
/// to tell new and removed peers apart), the peers it leaves alone, and the addresses it gave each
/// interface from its key. The one owner of that state, behind one lock.
final class WireGuardInterfaces: Sendable {
  private struct State {
    var readings: [String: WireGuardDevice] = [:]
    var skipped: Set<Key> = []
    var keyAddresses: [String: (key: Key, addresses: [IPPrefix])] = [:]
  }

  private let state = Locked(State())

  /// The latest reading of `interface`.
  func reading(_ interface: String) -> WireGuardDevice? { state.withLock { $0.readings[interface] } }

  var readings: [String: WireGuardDevice] { state.withLock { $0.readings } }

  /// Keeps `device` as the latest reading of `interface`; returns the one before.
  @discardableResult
  func record(_ device: WireGuardDevice, of interface: String) -> WireGuardDevice? {
    state.withLock { state in defer { state.readings[interface] = device }; return state.readings[interface] }
  }

  /// Notes that WireGuard's peer `key` on `interface` now has `endpoint` (set by Warren), until the
  /// next reading says so itself.
  func pointed(_ key: Key, on interface: String, at endpoint: TransportAddress) {
    state.withLock { state in
      if let index = state.readings[interface]?.peers.firstIndex(where: { $0.publicKey == key }) {
        state.readings[interface]?.peers[index].endpoint = endpoint
      }
    }
  }

  /// The first private key any interface was read with (to ask relay registries with).
  var anyPrivateKey: PrivateKey? { state.withLock { $0.readings.values.compactMap(\.privateKey).first } }

  /// Peers left alone (they have endpoints of their own, `skip_static_endpoints`).
  var skipped: Set<Key> { state.withLock { $0.skipped } }

  func skip(_ key: Key) { state.withLock { _ = $0.skipped.insert(key) } }

  /// The addresses given to `interface` from its key, and that key.
  func keyAddresses(of interface: String) -> (key: Key, addresses: [IPPrefix])? { state.withLock { $0.keyAddresses[interface] } }

  func setKeyAddresses(_ addresses: [IPPrefix], for key: Key, of interface: String) {
    state.withLock { $0.keyAddresses[interface] = (key, addresses) }
  }
}

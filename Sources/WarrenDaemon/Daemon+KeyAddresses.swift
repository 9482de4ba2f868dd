internal import Logging
internal import NIOPosix
internal import WarrenCrypto
internal import WarrenDiscovery
internal import WarrenNetlink

/// `wireguard.addresses_from_key` (docs/wireguard.md, "Addresses from the key"): each interface
/// gets, in every prefix, the address cunicu's autocfg derives from its public key, so that a
/// Warren host joins a cunicu mesh with nothing but the passphrase.
extension Daemon {
  /// Gives `interface` its addresses for `key`, once per key: a new key replaces the old key's
  /// addresses. A failure (no CAP_NET_ADMIN) is logged and tried again at the next reading.
  func assignKeyAddresses(_ interface: String, key: Key) async {
    let prefixes = configuration.wireguard.addressesFromKey
    let given = interfaces.keyAddresses(of: interface)
    guard !prefixes.isEmpty, given?.key != key else { return }
    let stale = given?.addresses ?? []
    let wanted = prefixes.map { KeyDerivedAddress.address(of: key, in: $0) }
    do {
      // rtnetlink answers at once; still a blocking call, so off the cooperative pool.
      try await NIOThreadPool.singleton.runIfActive {
        for old in stale where !wanted.contains(old) {
          try? AddressAssignment.perform(.remove, old.address, length: old.length, interface: interface)
        }
        for address in wanted { try AddressAssignment.perform(.add, address.address, length: address.length, interface: interface) }
      }
      interfaces.setKeyAddresses(wanted, for: key, of: interface)
      logger.notice(
        "the interface has its addresses from its key", metadata: ["interface": "\(interface)", "addresses": "\(wanted.map(\.description))"])
    } catch {
      logger.error(
        "cannot give the interface its addresses from its key; trying again at the next reading",
        metadata: ["interface": "\(interface)", "error": "\(error)"])
    }
  }
}

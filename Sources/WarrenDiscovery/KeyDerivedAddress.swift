public import WarrenCrypto
internal import WarrenPrimitives

/// An interface address derived from its WireGuard public key, byte for byte the one cunicu's
/// autocfg gives (its `prefixes`, 10.237.0.0/16 and fc2f:9a4d::/32 by default), so that a mesh of
/// cunicu and Warren hosts routes with no address configured: every member computes every other
/// member's address from its key.
///
/// The 128-bit SipHash-2-4 of the 32 key bytes under cunicu's fixed hash key; its first 4 (IPv4)
/// or 16 (IPv6) bytes, read big-endian, shifted right by the prefix length, fill the host bits
/// under the prefix.
public enum KeyDerivedAddress {
  /// cunicu's hash key (a public constant, `addrHashKey` in its `pkg/crypto`).
  public static let hashKey: [UInt8] = [0x67, 0x67, 0x2c, 0x05, 0xd1, 0x3e, 0x11, 0x94, 0xbb, 0x38, 0x91, 0xff, 0x4f, 0x80, 0xb3, 0x97]

  /// cunicu's default prefixes.
  public static let defaultPrefixes = [IPPrefix("fc2f:9a4d::/32")!, IPPrefix("10.237.0.0/16")!]

  /// `key`'s address in `prefix`, with the prefix's length ("10.237.26.187/16").
  public static func address(of key: Key, in prefix: IPPrefix) -> IPPrefix {
    let digest = SipHash24.hash128(key: hashKey, key.bytes)
    switch prefix.address {
    case .v4(let network):
      let hashed = digest[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      let mask: UInt32 = prefix.length == 0 ? 0 : ~0 << (32 - prefix.length)
      let host = prefix.length == 32 ? 0 : hashed >> prefix.length
      return IPPrefix(.v4(network & mask | host), length: prefix.length)
    case .v6(let high, let low):
      let hashedHigh = digest[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      let hashedLow = digest[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      // The 128-bit hash shifted right by the prefix length, and the prefix's own bits.
      let n = prefix.length
      let (hostHigh, hostLow): (UInt64, UInt64) =
        switch n {
        case 0: (hashedHigh, hashedLow)
        case 1..<64: (hashedHigh >> n, hashedLow >> n | hashedHigh << (64 - n))
        case 64: (0, hashedHigh)
        case 65..<128: (0, hashedHigh >> (n - 64))
        default: (0, 0)
        }
      let maskHigh: UInt64 = n >= 64 ? ~0 : n == 0 ? 0 : ~0 << (64 - n)
      let maskLow: UInt64 = n >= 128 ? ~0 : n <= 64 ? 0 : ~0 << (128 - n)
      return IPPrefix(.v6(high & maskHigh | hostHigh, low & maskLow | hostLow), length: n)
    }
  }
}

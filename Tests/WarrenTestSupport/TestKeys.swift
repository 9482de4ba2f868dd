public import WarrenCrypto

/// A private key that is the same in every run and different for every `n`: tests that need
/// several peers name them by number.
public func testKey(_ n: UInt32) -> PrivateKey {
  var bytes = [UInt8](repeating: 0x5a, count: 32)
  // Bytes 1...4: byte 0 loses its low bits to clamping, which would make keys collide.
  withUnsafeBytes(of: n.littleEndian) { for (i, b) in $0.enumerated() { bytes[1 + i] = b } }
  return PrivateKey(try! Key(bytes: bytes))
}

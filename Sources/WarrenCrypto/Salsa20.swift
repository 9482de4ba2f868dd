/// The Salsa20 family, written from D. J. Bernstein's specifications: the Salsa20/20 core
/// ("Salsa20 specification", 2005), HSalsa20 and XSalsa20 ("Extending the Salsa20 nonce", 2011).
///
/// Only additions, XORs and fixed rotations touch key material: no branches and no table lookups
/// depend on secrets.
enum Salsa20 {
  /// "expand 32-byte k", the diagonal constants σ.
  static let sigma: (UInt32, UInt32, UInt32, UInt32) = (0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574)

  /// A 256-bit key as eight little-endian words.
  struct Key: Sendable {
    var k0, k1, k2, k3, k4, k5, k6, k7: UInt32

    init(k0: UInt32, k1: UInt32, k2: UInt32, k3: UInt32, k4: UInt32, k5: UInt32, k6: UInt32, k7: UInt32) {
      (self.k0, self.k1, self.k2, self.k3) = (k0, k1, k2, k3)
      (self.k4, self.k5, self.k6, self.k7) = (k4, k5, k6, k7)
    }

    /// Reads 32 bytes.
    init(_ bytes: UnsafeRawBufferPointer) {
      precondition(bytes.count == 32, "a Salsa20 key is 32 bytes")
      self.init(
        k0: bytes.littleEndianWord(0), k1: bytes.littleEndianWord(4),
        k2: bytes.littleEndianWord(8), k3: bytes.littleEndianWord(12),
        k4: bytes.littleEndianWord(16), k5: bytes.littleEndianWord(20),
        k6: bytes.littleEndianWord(24), k7: bytes.littleEndianWord(28))
    }

    /// The 32 bytes.
    var bytes: [UInt8] {
      var words = (k0.littleEndian, k1.littleEndian, k2.littleEndian, k3.littleEndian,
                   k4.littleEndian, k5.littleEndian, k6.littleEndian, k7.littleEndian)
      return withUnsafeBytes(of: &words) { Array($0) }
    }
  }

  /// The sixteen words of a Salsa20 block.
  struct Block {
    var x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15: UInt32

    /// The input block: constants on the diagonal, the key around them, and the 128-bit input
    /// (nonce and block counter for Salsa20, the first 16 nonce bytes for HSalsa20) in words 6...9.
    @inline(__always)
    init(key: Key, input6: UInt32, input7: UInt32, input8: UInt32, input9: UInt32) {
      (x0, x5, x10, x15) = Salsa20.sigma
      (x1, x2, x3, x4) = (key.k0, key.k1, key.k2, key.k3)
      (x11, x12, x13, x14) = (key.k4, key.k5, key.k6, key.k7)
      (x6, x7, x8, x9) = (input6, input7, input8, input9)
    }

    /// Ten double rounds (a column round, then a row round), the Salsa20/20 permutation without
    /// the final addition of the input.
    @inline(__always)
    mutating func permute() {
      var (x0, x1, x2, x3, x4, x5, x6, x7) = (x0, x1, x2, x3, x4, x5, x6, x7)
      var (x8, x9, x10, x11, x12, x13, x14, x15) = (x8, x9, x10, x11, x12, x13, x14, x15)
      for _ in 0..<10 {
        // Column round: quarter rounds on (0,4,8,12), (5,9,13,1), (10,14,2,6), (15,3,7,11).
        x4 ^= rotl(x0 &+ x12, 7); x8 ^= rotl(x4 &+ x0, 9)
        x12 ^= rotl(x8 &+ x4, 13); x0 ^= rotl(x12 &+ x8, 18)
        x9 ^= rotl(x5 &+ x1, 7); x13 ^= rotl(x9 &+ x5, 9)
        x1 ^= rotl(x13 &+ x9, 13); x5 ^= rotl(x1 &+ x13, 18)
        x14 ^= rotl(x10 &+ x6, 7); x2 ^= rotl(x14 &+ x10, 9)
        x6 ^= rotl(x2 &+ x14, 13); x10 ^= rotl(x6 &+ x2, 18)
        x3 ^= rotl(x15 &+ x11, 7); x7 ^= rotl(x3 &+ x15, 9)
        x11 ^= rotl(x7 &+ x3, 13); x15 ^= rotl(x11 &+ x7, 18)
        // Row round: quarter rounds on (0,1,2,3), (5,6,7,4), (10,11,8,9), (15,12,13,14).
        x1 ^= rotl(x0 &+ x3, 7); x2 ^= rotl(x1 &+ x0, 9)
        x3 ^= rotl(x2 &+ x1, 13); x0 ^= rotl(x3 &+ x2, 18)
        x6 ^= rotl(x5 &+ x4, 7); x7 ^= rotl(x6 &+ x5, 9)
        x4 ^= rotl(x7 &+ x6, 13); x5 ^= rotl(x4 &+ x7, 18)
        x11 ^= rotl(x10 &+ x9, 7); x8 ^= rotl(x11 &+ x10, 9)
        x9 ^= rotl(x8 &+ x11, 13); x10 ^= rotl(x9 &+ x8, 18)
        x12 ^= rotl(x15 &+ x14, 7); x13 ^= rotl(x12 &+ x15, 9)
        x14 ^= rotl(x13 &+ x12, 13); x15 ^= rotl(x14 &+ x13, 18)
      }
      (self.x0, self.x1, self.x2, self.x3, self.x4, self.x5, self.x6, self.x7) =
        (x0, x1, x2, x3, x4, x5, x6, x7)
      (self.x8, self.x9, self.x10, self.x11, self.x12, self.x13, self.x14, self.x15) =
        (x8, x9, x10, x11, x12, x13, x14, x15)
    }

    /// Salsa20/20 of this input: the permutation plus the input, word by word.
    @inline(__always)
    func keystream() -> Block {
      var out = self
      out.permute()
      out.x0 &+= x0; out.x1 &+= x1; out.x2 &+= x2; out.x3 &+= x3
      out.x4 &+= x4; out.x5 &+= x5; out.x6 &+= x6; out.x7 &+= x7
      out.x8 &+= x8; out.x9 &+= x9; out.x10 &+= x10; out.x11 &+= x11
      out.x12 &+= x12; out.x13 &+= x13; out.x14 &+= x14; out.x15 &+= x15
      return out
    }

    /// The 64 keystream bytes as eight little-endian 64-bit lanes.
    @inline(__always)
    var lanes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) {
      @inline(__always) func lane(_ lo: UInt32, _ hi: UInt32) -> UInt64 { UInt64(lo) | UInt64(hi) << 32 }
      return (lane(x0, x1), lane(x2, x3), lane(x4, x5), lane(x6, x7),
              lane(x8, x9), lane(x10, x11), lane(x12, x13), lane(x14, x15))
    }
  }

  /// HSalsa20: the Salsa20 permutation of (key, 16-byte input) without the final addition, keeping
  /// words 0, 5, 10, 15, 6, 7, 8, 9 as the derived 256-bit key. `crypto_box` uses it twice: once on
  /// the X25519 shared secret with a zero input, once in XSalsa20 on the first 16 nonce bytes.
  static func hsalsa20(key: Key, input: UnsafeRawBufferPointer) -> Key {
    precondition(input.count == 16, "the HSalsa20 input is 16 bytes")
    var block = Block(
      key: key,
      input6: input.littleEndianWord(0), input7: input.littleEndianWord(4),
      input8: input.littleEndianWord(8), input9: input.littleEndianWord(12))
    block.permute()
    return Key(
      k0: block.x0, k1: block.x5, k2: block.x10, k3: block.x15,
      k4: block.x6, k5: block.x7, k6: block.x8, k7: block.x9)
  }

  /// A Salsa20/20 keystream position: key, 64-bit nonce and 64-bit block counter.
  struct Stream {
    let key: Key
    let nonce0: UInt32, nonce1: UInt32
    var counter: UInt64

    /// The XSalsa20 stream for a 24-byte nonce: Salsa20 under HSalsa20(key, nonce[0..<16]) with
    /// nonce[16..<24], from block 0.
    init(xsalsa20Key key: Key, nonce: UnsafeRawBufferPointer) {
      precondition(nonce.count == 24, "the XSalsa20 nonce is 24 bytes")
      self.key = Salsa20.hsalsa20(key: key, input: UnsafeRawBufferPointer(rebasing: nonce[0..<16]))
      nonce0 = nonce.littleEndianWord(16)
      nonce1 = nonce.littleEndianWord(20)
      counter = 0
    }

    /// The next 64-byte keystream block.
    @inline(__always)
    mutating func next() -> Block {
      let block = Block(
        key: key, input6: nonce0, input7: nonce1,
        input8: UInt32(truncatingIfNeeded: counter), input9: UInt32(truncatingIfNeeded: counter >> 32))
      counter &+= 1
      return block.keystream()
    }

    /// XORs the keystream into `input`, writing `output` (which may be `input`), consuming whole
    /// blocks; the keystream's unused tail of the last block is discarded.
    mutating func xor(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
      precondition(output.count >= input.count)
      var offset = 0
      let count = input.count
      while count - offset >= 64 {
        let l = next().lanes
        @inline(__always) func mix(_ at: Int, _ k: UInt64) {
          let word = input.loadUnaligned(fromByteOffset: offset + at, as: UInt64.self)
          output.storeBytes(of: word ^ k.littleEndian, toByteOffset: offset + at, as: UInt64.self)
        }
        mix(0, l.0); mix(8, l.1); mix(16, l.2); mix(24, l.3)
        mix(32, l.4); mix(40, l.5); mix(48, l.6); mix(56, l.7)
        offset += 64
      }
      if offset < count {
        var l = next().lanes
        withUnsafeBytes(of: &l) { keystream in
          for index in 0..<(count - offset) {
            output[offset + index] = input[offset + index] ^ keystream[index]
          }
        }
      }
    }
  }
}

/// Rotates left by a fixed count.
@inline(__always)
private func rotl(_ value: UInt32, _ count: UInt32) -> UInt32 {
  (value &<< count) | (value &>> (32 &- count))
}

extension UnsafeRawBufferPointer {
  /// The little-endian 32-bit word at `offset`.
  @inline(__always)
  func littleEndianWord(_ offset: Int) -> UInt32 {
    UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }
}

import Benchmark
import WarrenCrypto

/// crypto_box seal+open, the way signaling uses it: the cold path computes the box key each time
/// (libsodium's `crypto_box_easy` + `crypto_box_open_easy`), the cached path reuses it
/// (`crypto_box_easy_afternm` + `crypto_box_open_easy_afternm`).
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 100,
    scalingFactor: .kilo,
    maxDuration: .seconds(3),
    maxIterations: 1_000_000)

  let alice = PrivateKey.generate()
  let bob = PrivateKey.generate()
  let nonce = SystemRandomSource().bytes(24)

  for size in [200, 1024] {
    let message = SystemRandomSource().bytes(size)

    Benchmark("seal+open cold \(size) B") { benchmark in
      for _ in benchmark.scaledIterations {
        let box = try CryptoBox.seal(message, nonce: nonce, ours: alice, theirs: bob.publicKey)
        blackHole(try CryptoBox.open(box, nonce: nonce, ours: bob, theirs: alice.publicKey))
      }
    }

    let sealing = try! CryptoBox.precompute(ours: alice, theirs: bob.publicKey)
    let opening = try! CryptoBox.precompute(ours: bob, theirs: alice.publicKey)
    Benchmark("seal+open cached \(size) B") { benchmark in
      for _ in benchmark.scaledIterations {
        let box = try sealing.seal(message, nonce: nonce)
        blackHole(try opening.open(box, nonce: nonce))
      }
    }
  }
}

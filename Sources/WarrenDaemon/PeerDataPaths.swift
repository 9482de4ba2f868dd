internal import WarrenPrimitives

/// The WireGuard peers' data paths (docs/wireguard.md, "Data paths"): the kernel data path, or why
/// there is none, and each peer's current choice. The one owner of that state, behind one lock.
final class PeerDataPaths: Sendable {
  private struct State {
    var kernel: KernelDataPath?
    var kernelUnavailable: String? = "no WireGuard interfaces"
    var choices: [String: DataPathChoice] = [:]
  }

  private let state = Locked(State())

  /// The kernel data path, or why there is none.
  var kernel: (path: KernelDataPath?, unavailable: String?) { state.withLock { ($0.kernel, $0.kernelUnavailable) } }

  func setKernel(_ kernel: KernelDataPath) { state.withLock { ($0.kernel, $0.kernelUnavailable) = (kernel, nil) } }

  func setKernelUnavailable(_ why: String) { state.withLock { ($0.kernel, $0.kernelUnavailable) = (nil, why) } }

  /// Each peer's current choice, by peer name.
  var choices: [String: DataPathChoice] { state.withLock { $0.choices } }

  /// Records the peer's new choice; returns the one before.
  func choose(_ choice: DataPathChoice, for peer: String) -> DataPathChoice? {
    state.withLock { state in defer { state.choices[peer] = choice }; return state.choices[peer] }
  }

  func forget(_ peer: String) { state.withLock { _ = $0.choices.removeValue(forKey: peer) } }
}

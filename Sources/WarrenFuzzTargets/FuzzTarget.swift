/// One decoder that takes bytes from strangers, driven by arbitrary input: the function a
/// coverage-guided fuzzer (libFuzzer, see `Sources/warren-fuzz`) calls for every input it tries,
/// and that the unit tests call for every committed seed and regression input (`Fuzz/`).
///
/// A target must return for every input. It crashes, on purpose, when an input breaks something
/// the decoder promises (for example that what it decoded encodes and decodes to the same value):
/// that is a finding, like any trap the input provokes.
public struct FuzzTarget: Sendable {
  /// What the decoder made of one input.
  public enum Outcome: Sendable, Equatable {
    /// Decoded (and, for a scripted target, at least one step got past the decoder).
    case accepted
    /// Refused with an error, as bad input should be.
    case refused
  }

  /// The name `scripts/fuzz.sh` and the corpus folders (`Fuzz/corpus/NAME`) use.
  public let name: String
  /// What the input is, in a few words.
  public let summary: String
  private let body: @Sendable ([UInt8]) -> Outcome

  public init(name: String, summary: String, _ body: @escaping @Sendable ([UInt8]) -> Outcome) {
    self.name = name
    self.summary = summary
    self.body = body
  }

  /// Runs the decoder on one input.
  @discardableResult
  public func run(_ input: [UInt8]) -> Outcome { body(input) }
}

extension FuzzTarget {
  /// Every target; each has a seed folder of its name, `Fuzz/corpus/NAME`.
  public static let all: [FuzzTarget] = [
    stun, iceAgent, turn, channelData,
    candidate, envelope, message, announcement,
    busFrame, controlRequest, watchEvent,
    daemonConfiguration, kubeconfig, allowedKeys, urls,
    netlink, uapi,
  ]

  public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

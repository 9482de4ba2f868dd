/// The two keys of one peer relationship, as session.md names them: our private key and their
/// public key. Envelopes from `ours` to `theirs` are sealed with this pair.
public struct KeyPair: Sendable, Hashable {
  public let ours: PrivateKey
  public let theirs: Key

  public init(ours: PrivateKey, theirs: Key) {
    self.ours = ours
    self.theirs = theirs
  }

  /// Whether we are the controlling ICE agent: our public key is the smaller one (session.md, "Roles").
  public var weAreControlling: Bool { ours.publicKey < theirs }
}

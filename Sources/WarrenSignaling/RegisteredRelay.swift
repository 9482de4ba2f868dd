/// A STUN or TURN server with credentials, as a signaling server's relay registry hands it out
/// for a key (wire.md, `RelayRegistry.GetRelays`).
public struct RegisteredRelay: Sendable, Hashable {
  /// `stun:`, `turn:` or `turns:` URL.
  public var url: String
  public var username: String
  public var password: String
  /// When the credentials stop working (TURN REST credentials), if the registry says.
  public var expires: ContinuousClock.Instant?

  public init(url: String, username: String, password: String, expires: ContinuousClock.Instant? = nil) {
    self.url = url
    self.username = username
    self.password = password
    self.expires = expires
  }
}

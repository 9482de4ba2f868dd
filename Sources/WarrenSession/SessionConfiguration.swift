/// The timers of a peer session (session.md, "Details").
public struct SessionConfiguration: Sendable {
  /// Credentials re-sent while Idle: first after this, …
  public var credentialsInitialInterval: Duration = .milliseconds(500)
  /// … each interval this many times the last, …
  public var credentialsMultiplier = 1.5
  /// … randomised by ± this fraction, …
  public var credentialsRandomization = 0.5
  /// … and never longer than this. Idle never gives up.
  public var credentialsMaxInterval: Duration = .seconds(60)
  /// Disconnected this long without recovering: restart.
  public var restartTimeout: Duration = .seconds(5)

  public init() {}
}

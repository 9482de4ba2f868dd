/// The timers of a peer session (session.md, "Details"; docs/session.md).
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
  /// New or Connecting this long after the peer's credentials, with no connectivity check begun:
  /// restart (the peer's candidates never came, or it never restarted at all).
  public var establishTimeout: Duration = .seconds(30)
  /// In New with the peer's credentials but none of its candidates after this long, the peer is
  /// asked again (credentials with need_creds; a Warren peer answers with its candidates too),
  /// then after twice as long, and so on until `establishTimeout`.
  public var candidatesRetryInterval: Duration = .seconds(1)
  /// Restarts in a row that run at once; later ones of the same streak are delayed …
  public var restartBurst = 3
  /// … first by this, doubling with each further restart, …
  public var restartDelayInitial: Duration = .seconds(1)
  /// … up to this. A streak ends after this long without a restart:
  public var restartDelayMax: Duration = .seconds(30)
  public var restartStreakReset: Duration = .seconds(60)
  /// Remote credentials remembered per peer to recognise late copies of old ones.
  public var credentialsMemory = 32
  /// Candidates kept while the credentials they belong with have not arrived.
  public var earlyCandidatesLimit = 64
  /// How copies of the peer's messages are recognised (docs/session.md, "Replays").
  public var replay = ReplayGuard.Configuration()

  public init() {}
}

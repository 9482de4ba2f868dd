internal import WarrenPrimitives

/// Recognises copies of a peer's messages before they can reach the session (docs/session.md,
/// "Replays"): an envelope whose nonce was already accepted, and — for Warren peers, whose
/// messages carry `Freshness.sent_at` — a message sent at a time already accepted, too far behind
/// the newest accepted, or, before anything was accepted, too far from our own clock.
///
/// Only the sender can make a new nonce or `sent_at` (both are inside, or bound to, its sealed
/// box), so a stranger replaying recorded envelopes cannot grow this state: it is bounded by what
/// the peer itself sends, and capped on top of that.
public struct ReplayGuard: Sendable {
  public struct Configuration: Sendable {
    /// Accepted nonces are remembered this long …
    public var nonceLifetime: Duration = .seconds(600)
    /// … and at most this many (the oldest are forgotten first). 24 bytes each.
    public var nonceMemory = 1024
    /// A message sent this long before the newest accepted one is stale. Copies of every message
    /// inside the window were accepted once and are refused by their `sent_at`, so the window only
    /// tolerates reordering by the backends, it does not open a door for replays.
    public var reorderWindow: Duration = .seconds(60)
    /// `sent_at` values remembered inside the window, at most (8 bytes each); beyond this the
    /// oldest is forgotten and everything at or before it counts as stale.
    public var sentAtMemory = 1024
    /// A message sent further than this from our clock is refused when nothing newer was accepted
    /// (a daemon that just started cannot otherwise tell an old recording from the peer's present),
    /// and always when it claims to come from our future.
    public var clockWindow: Duration = .seconds(600)

    public init() {}
  }

  public let configuration: Configuration
  /// Accepted nonces, until their lifetime ends.
  private var nonces = ExpiringSet<Nonce, ContinuousClock.Instant>()
  /// The newest accepted `sent_at`, the accepted ones inside the reordering window, and the value
  /// at or below which everything is stale because the memory forgot it.
  private var newestSentAt: UInt64?
  private var acceptedSentAt: Set<UInt64> = []
  private var forgottenUpTo: UInt64 = 0

  public init(configuration: Configuration = Configuration()) {
    self.configuration = configuration
  }

  /// How many nonces are remembered now.
  public var rememberedNonces: Int { nonces.count }
  /// How many `sent_at` values are remembered now.
  public var rememberedSentAt: Int { acceptedSentAt.count }

  /// Judges one message, and remembers it if it is admitted.
  /// - Parameters:
  ///   - nonce: the envelope's 24-byte nonce (`nil` where the transport gives none: in tests).
  ///   - sentAt: the message's `Freshness.sent_at`, `nil` from cunicu peers.
  ///   - wallClock: our wall clock now, nanoseconds since the Unix epoch.
  /// - Returns: why the message is refused, or `nil` if it may go on to the session.
  public mutating func admit(
    nonce: [UInt8]?, sentAt: UInt64?, now: ContinuousClock.Instant, wallClock: UInt64
  ) -> DroppedMessageReason? {
    nonces.forget(through: now)
    let key = nonce.flatMap(Nonce.init)
    if let key, nonces.contains(key) { return .seenNonce }
    if let sentAt {
      let clockWindow = Self.nanoseconds(configuration.clockWindow)
      if sentAt > wallClock &+ clockWindow { return .outsideClockWindow }
      if let newestSentAt {
        let floor = max(forgottenUpTo, Self.earlier(newestSentAt, by: Self.nanoseconds(configuration.reorderWindow)))
        if sentAt <= floor || acceptedSentAt.contains(sentAt) { return .staleFreshness }
      } else if sentAt < Self.earlier(wallClock, by: clockWindow) {
        return .outsideClockWindow
      }
      remember(sentAt: sentAt)
    }
    if let key {
      nonces.insert(key, forgetAt: now + configuration.nonceLifetime)
      if nonces.count > configuration.nonceMemory { nonces.forgetOldest() }
    }
    return nil
  }

  private mutating func remember(sentAt: UInt64) {
    acceptedSentAt.insert(sentAt)
    if sentAt > newestSentAt ?? 0 {
      newestSentAt = sentAt
      let floor = Self.earlier(sentAt, by: Self.nanoseconds(configuration.reorderWindow))
      if acceptedSentAt.contains(where: { $0 <= floor }) { acceptedSentAt = acceptedSentAt.filter { $0 > floor } }
    }
    if acceptedSentAt.count > configuration.sentAtMemory, let oldest = acceptedSentAt.min() {
      acceptedSentAt.remove(oldest)
      forgottenUpTo = max(forgottenUpTo, oldest)
    }
  }

  /// `time - span`, or zero.
  private static func earlier(_ time: UInt64, by span: UInt64) -> UInt64 { time > span ? time - span : 0 }

  private static func nanoseconds(_ duration: Duration) -> UInt64 {
    let components = duration.components
    return UInt64(max(0, components.seconds)) * 1_000_000_000 + UInt64(max(0, components.attoseconds) / 1_000_000_000)
  }

  /// A 24-byte envelope nonce, stored as three words.
  private struct Nonce: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64)

    init?(_ bytes: [UInt8]) {
      guard bytes.count == 24 else { return nil }
      func word(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(bytes[offset + $1]) } }
      words = (word(0), word(8), word(16))
    }

    static func == (a: Nonce, b: Nonce) -> Bool { a.words == b.words }

    func hash(into hasher: inout Hasher) {
      hasher.combine(words.0)
      hasher.combine(words.1)
      hasher.combine(words.2)
    }
  }
}

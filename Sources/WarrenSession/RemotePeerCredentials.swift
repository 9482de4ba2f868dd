public import WarrenICE

/// What a session knows about the peer's credentials and agents, and how it judges credentials
/// that arrive: the current ones again, the first ones after our own restart, the peer's new ones
/// (it restarted), or a late copy of something older (docs/session.md, "Restarts that converge").
///
/// Warren peers send their agent generation with every message, which orders their agents
/// exactly. cunicu peers send only ufrag, pwd and need_creds; for them the remembered credentials
/// and need_creds decide.
public struct RemotePeerCredentials: Sendable {
  /// How the session should take credentials that arrived.
  public enum Verdict: Hashable, Sendable {
    /// The current credentials again. `renewed`: from a newer agent of the peer that kept them
    /// (the peer answered a restart of ours), so older agents' messages are stale from now on.
    case current(renewed: Bool)
    /// We have no current credentials (we just started or restarted): take these.
    case adopt
    /// Other credentials than the current ones, and newer: the peer restarted.
    case peerRestarted
    /// A late copy of something older, or nonsense: change nothing.
    case drop(DroppedMessageReason)
  }

  /// The peer's credentials our agent uses (or will use), if any.
  public private(set) var current: ICECredentials?
  /// The newest agent generation of the peer whose credentials were taken.
  public private(set) var newestGeneration: UInt64?
  /// Credentials taken from the peer, oldest first, at most `capacity`.
  private var recent: [ICECredentials] = []
  private let capacity: Int

  public init(capacity: Int) {
    self.capacity = max(1, capacity)
  }

  /// Whether a message of agent `generation` comes from an agent older than the newest known.
  public func isStale(generation: UInt64?) -> Bool {
    guard let generation, let newestGeneration else { return false }
    return generation < newestGeneration
  }

  /// Whether a message of agent `generation` comes from an agent newer than the newest known (its
  /// credentials have not arrived yet).
  public func isAhead(generation: UInt64?) -> Bool {
    guard let generation else { return false }
    guard let newestGeneration else { return current != nil }
    return generation > newestGeneration
  }

  public func judge(_ credentials: ICECredentials, needCreds: Bool, generation: UInt64?) -> Verdict {
    if isStale(generation: generation) { return .drop(.staleAgent) }
    if credentials == current {
      return .current(renewed: generation.map { generation in newestGeneration.map { generation > $0 } ?? true } ?? false)
    }
    let isLatest = recent.last == credentials
    let sameGeneration = generation != nil && generation == newestGeneration
    guard current != nil else {
      // We restarted and wait for the peer's credentials: its latest known ones or newer.
      if sameGeneration && !isLatest { return .drop(.conflictingCredentials) }
      if generation == nil && recent.contains(credentials) && !isLatest { return .drop(.oldCredentials) }
      return .adopt
    }
    if generation != nil {
      // Not stale and not the current ones: a newer agent with new credentials.
      return sameGeneration ? .drop(.conflictingCredentials) : .peerRestarted
    }
    if recent.contains(credentials) { return .drop(.oldCredentials) }
    // A restarting peer announces new credentials with need_creds (session.md, Idle); unknown
    // ones without it are an answer to a request of ours that arrived after newer ones.
    return needCreds ? .peerRestarted : .drop(.unannouncedCredentials)
  }

  /// The peer's credentials from now on (adopted, or the peer restarted with them).
  public mutating func take(_ credentials: ICECredentials, generation: UInt64?) {
    current = credentials
    renew(generation: generation)
    recent.removeAll { $0 == credentials }
    recent.append(credentials)
    if recent.count > capacity { recent.removeFirst(recent.count - capacity) }
  }

  /// The peer made a newer agent and kept its credentials.
  public mutating func renew(generation: UInt64?) {
    guard let generation else { return }
    newestGeneration = max(newestGeneration ?? 0, generation)
  }

  /// Our agent starts over with new credentials: wait for the peer's answer (and remember these).
  public mutating func forgetCurrent() {
    current = nil
  }
}

internal import WarrenICE

/// Which side starts WireGuard's first handshake on a new path (docs/wireguard.md, "The first
/// handshake"). WireGuard retries a failed initiation only after 5 s, so one side renews the peer
/// (an initiation at once) instead of only setting its endpoint.
enum HandshakeStarter {
  /// Whether this side renews a peer that has no live WireGuard session.
  ///
  /// Between two Warrens the controlling side does, and only it: one initiator is enough (the
  /// other answers, which WireGuard never holds back), and two at once would race. cunicu, when it
  /// controls, only sets WireGuard's endpoint and leaves the handshake to traffic and WireGuard's
  /// own retry: its first ping came 5.2 s after the start instead of about 0.3 s. So a Warren
  /// controlled by a cunicu (a peer whose messages carry no field 100) starts it.
  static func startsHandshake(role: ICERole, peerIsWarren: Bool) -> Bool {
    role == .controlling || !peerIsWarren
  }

  /// Whether this side renews the peer now, when it points it at the pair an agent selected.
  ///
  /// A peer with no live WireGuard session is renewed by the side that starts handshakes. One with
  /// a live session keeps it (its keys stay; only the endpoint changes), except on the first pair
  /// of a new ICE session with a cunicu: cunicu runs its WireGuard inside its own process (`-U`),
  /// so a cunicu that restarted has forgotten the session Warren still holds, drops what Warren
  /// sends with it, and WireGuard here would shake hands again only after 15 s without an answer
  /// (measured: a ping answered 15.1–15.2 s after a killed cunicu started again).
  static func renews(role: ICERole, peerIsWarren: Bool, hasSession: Bool, newSession: Bool) -> Bool {
    guard startsHandshake(role: role, peerIsWarren: peerIsWarren) else { return false }
    return !hasSession || (newSession && !peerIsWarren)
  }
}

import Testing
import WarrenICE

@testable import WarrenDaemon

@Suite("Who starts WireGuard's first handshake")
struct HandshakeStarterTests {
  @Test("between two Warrens only the controlling side; against cunicu, which never starts it, Warren always")
  func starter() {
    #expect(HandshakeStarter.startsHandshake(role: .controlling, peerIsWarren: true))
    #expect(!HandshakeStarter.startsHandshake(role: .controlled, peerIsWarren: true))
    #expect(HandshakeStarter.startsHandshake(role: .controlling, peerIsWarren: false))
    // cunicu controls: it sets its WireGuard endpoint and sends nothing.
    #expect(HandshakeStarter.startsHandshake(role: .controlled, peerIsWarren: false))
  }

  @Test("a live session is kept, except on a new ICE session with cunicu, whose WireGuard restarts with it")
  func renewal() {
    for role in [ICERole.controlling, .controlled] {
      // A cunicu killed and started again: a new session, and Warren's WireGuard still has keys it forgot.
      #expect(HandshakeStarter.renews(role: role, peerIsWarren: false, hasSession: true, newSession: true))
      #expect(!HandshakeStarter.renews(role: role, peerIsWarren: false, hasSession: true, newSession: false))
      #expect(HandshakeStarter.renews(role: role, peerIsWarren: false, hasSession: false, newSession: false))
    }
    // Between Warrens: only the controlling side, and only without a session.
    #expect(HandshakeStarter.renews(role: .controlling, peerIsWarren: true, hasSession: false, newSession: true))
    #expect(!HandshakeStarter.renews(role: .controlling, peerIsWarren: true, hasSession: true, newSession: true))
    #expect(!HandshakeStarter.renews(role: .controlled, peerIsWarren: true, hasSession: false, newSession: true))
  }
}

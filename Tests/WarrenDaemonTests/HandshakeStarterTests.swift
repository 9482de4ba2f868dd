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
}

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import SwiftProtobuf
internal import WarrenCrypto
internal import WarrenDiscovery
internal import WarrenICE
internal import WarrenPrimitives
internal import WarrenSession
internal import WarrenWire

extension FuzzTarget {
  /// The recipient of spec/vectors/nacl_box.json's envelopes (its `keys[1]`), so that the seed
  /// corpus's envelopes open and the fuzzer starts from the inside of a box.
  static let recipient = try! PrivateKey(base64: "eKJCuMtFNFEJ/YAOJQ9EbRu/Iuj7PA/QUn9CWK6LhHQ=")
  /// The sender of those envelopes (`keys[0]`).
  static let sender = try! Key(base64: "rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4=")

  /// An ICE candidate as wire.md's `cunicu.epdisc.Candidate`: what Warren can use must go back
  /// to the wire and come again unchanged.
  static let candidate = FuzzTarget(name: "candidate", summary: "a cunicu.epdisc.Candidate (protobuf)") { bytes in
    guard let wire = try? Cunicu_Epdisc_Candidate(serializedBytes: bytes) else { return .refused }
    guard let candidate = Candidate(wire) else { return .refused }
    precondition(Candidate(Cunicu_Epdisc_Candidate(candidate)) == candidate, "a candidate changed on its way to the wire and back")
    return .accepted
  }

  /// A whole `Envelope` (protobuf) as a signaling backend delivers it, opened as its recipient
  /// (wire.md "Envelope sealing"): key lengths, the recipient, the nonce, the tag, the `Message`.
  static let envelope = FuzzTarget(name: "envelope", summary: "a sealed cunicu.signaling.Envelope (protobuf)") { bytes in
    guard let envelope = try? Cunicu_Signaling_Envelope(serializedBytes: bytes) else { return .refused }
    guard let opened = try? EnvelopeSealer().open(envelope, as: recipient) else { return .refused }
    precondition(opened.recipient == recipient.publicKey, "an envelope opened for someone else")
    return .accepted
  }

  /// `Message`s from a peer, as they come out of opened envelopes, to a started session (both
  /// roles, chosen by the first byte): credentials, candidates, freshness, replays. Each step is a
  /// control byte and one message; the control byte's high five bits advance the clock by that
  /// many 100 ms, and its low three bits report an agent state to the session.
  static let message = FuzzTarget(name: "message", summary: "cunicu.signaling.Message steps into a session") { bytes in
    var script = FuzzScript(bytes)
    let role: ICERole = (script.byte() ?? 0) & 1 == 0 ? .controlled : .controlling
    var session = PeerSession(role: role, seed: 1)
    var now = ContinuousClock.now
    session.start(now: now, unixNanoseconds: 1_800_000_000_000_000_000)
    var outcome = Outcome.refused
    var serial: UInt8 = 0
    while let control = script.byte() {
      now = now.advanced(by: .milliseconds(100 * Int(control >> 3)))
      session.handleTimeout(now: now)
      if let state = ICEConnectionState(rawValue: Int(control & 7)) { session.agentStateChanged(state, now: now) }
      guard let message = try? Cunicu_Signaling_Message(serializedBytes: script.chunk()) else { continue }
      outcome = .accepted
      serial &+= 1
      session.receive(message, nonce: [UInt8](repeating: serial, count: 24), now: now)
      while session.pollAction() != nil {}
    }
    return outcome
  }

  /// A peer-discovery announcement (wire.md "Peer discovery", `cunicu.pdisc.PeerDescription`)
  /// checked as the daemon checks one, then given to a discovery that learns from it.
  static let announcement = FuzzTarget(name: "announcement", summary: "a cunicu.pdisc.PeerDescription (protobuf)") { bytes in
    guard let description = try? Cunicu_Pdisc_PeerDescription(serializedBytes: bytes) else { return .refused }
    guard let announcement = try? Announcement(checking: description, sender: sender) else { return .refused }
    var discovery = PeerDiscovery(
      ourKey: recipient.publicKey, settings: PeerDiscovery.Settings(name: "fuzz", allowedIPs: [IPPrefix("10.0.0.1/32")!]), seed: 1)
    let now = ContinuousClock.now
    discovery.start(now: now)
    discovery.receive(announcement, sender: sender, now: now)
    discovery.handleTimeout(now: now.advanced(by: .seconds(1)))
    while discovery.pollAction() != nil {}
    return .accepted
  }
}

public import WarrenWire

/// An envelope that opened: the message and the keys it travelled between. The sender is
/// authenticated: only the holder of its private key could have sealed the box.
public struct OpenedEnvelope: Sendable, Equatable {
  public let sender: Key
  public let recipient: Key
  public let message: Cunicu_Signaling_Message
  /// The box's 24-byte nonce: unique per envelope the sender sealed, so a copy of the envelope
  /// has the same one (a receiver recognises replays by it).
  public let nonce: [UInt8]

  public init(sender: Key, recipient: Key, message: Cunicu_Signaling_Message, nonce: [UInt8]) {
    self.sender = sender
    self.recipient = recipient
    self.message = message
    self.nonce = nonce
  }
}

public import WarrenWire

/// An envelope that opened: the message and the keys it travelled between. The sender is
/// authenticated: only the holder of its private key could have sealed the box.
public struct OpenedEnvelope: Sendable, Equatable {
  public let sender: Key
  public let recipient: Key
  public let message: Cunicu_Signaling_Message

  public init(sender: Key, recipient: Key, message: Cunicu_Signaling_Message) {
    self.sender = sender
    self.recipient = recipient
    self.message = message
  }
}

/// The error every WarrenCrypto operation throws: a code to match on, and a message that names what
/// was wrong and with which value, where that value is safe to show.
public struct WarrenCryptoError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What went wrong. Extensible: new codes may be added without breaking `switch`-free callers.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    /// A key is not exactly 32 bytes.
    public static let invalidKeyLength = Code("invalid key length")
    /// A key's text is not 44 characters of canonical, padded standard base64.
    public static let invalidKeyEncoding = Code("invalid key encoding")
    /// X25519 produced the all-zero shared secret: the public key is a low-order point.
    public static let invalidPublicKey = Code("invalid public key")
    /// An envelope's recipient is not the key it is being opened with.
    public static let recipientMismatch = Code("recipient mismatch")
    /// An envelope's nonce is not 24 bytes.
    public static let invalidNonceLength = Code("invalid nonce length")
    /// A box is shorter than its tag, or the Poly1305 tag does not verify.
    public static let authenticationFailed = Code("authentication failed")
    /// The box opened, but its plaintext is not a protobuf `Message`.
    public static let undecodablePlaintext = Code("undecodable plaintext")
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }
}

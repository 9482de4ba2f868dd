/// ICE credentials (RFC 8445 §5.3): username fragment and password.
public struct ICECredentials: Hashable, Sendable {
  public var ufrag: String
  public var pwd: String

  public init(ufrag: String, pwd: String) {
    self.ufrag = ufrag
    self.pwd = pwd
  }

  /// Fresh credentials: `ufrag` 16 and `pwd` 32 random letters (session.md), from `random`.
  public static func random(using random: inout some RandomNumberGenerator) -> ICECredentials {
    let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    func word(_ count: Int) -> String { String((0..<count).map { _ in letters.randomElement(using: &random)! }) }
    return ICECredentials(ufrag: word(16), pwd: word(32))
  }
}

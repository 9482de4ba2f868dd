public import WarrenPrimitives

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
public import WarrenCrypto

/// The keys a server closed to one mesh serves (`--allow-keys FILE`): one base64 public key per
/// line (WireGuard's encoding, as `warren pubkey` prints it), `#` starts a comment, blank lines
/// are skipped. A peer-discovery community is admitted by listing its public key.
public struct AllowedKeys: Sendable, Equatable {
  public let keys: Set<Key>

  public init(_ keys: Set<Key>) {
    self.keys = keys
  }

  /// Reads `path`; a line that is not a key is an error naming the file and the line.
  public init(contentsOf path: String) throws(AllowedKeysError) {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw AllowedKeysError(.unreadable, "\(path): \(error)")
    }
    try self.init(parsing: text, file: path)
  }

  public init(parsing text: String, file: String) throws(AllowedKeysError) {
    var keys: Set<Key> = []
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
      let trimmed = String(line.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
      if trimmed.isEmpty { continue }
      guard let key = try? Key(base64: trimmed) else {
        throw AllowedKeysError(.invalidKey, "\(file):\(index + 1): '\(trimmed)' is not a base64 public key (44 characters, as warren pubkey prints)")
      }
      keys.insert(key)
    }
    self.keys = keys
  }

  public func contains(_ key: Key) -> Bool { keys.contains(key) }
}

/// Why an allowed-keys file gave no list.
public typealias AllowedKeysError = WarrenError<AllowedKeysErrorCodes>

/// The codes of ``AllowedKeysError``.
public enum AllowedKeysErrorCodes {}

extension ErrorCode where Domain == AllowedKeysErrorCodes {
  /// The file cannot be read.
  public static var unreadable: Self { Self("cannot read the allowed keys") }
  /// A line is not a base64 public key.
  public static var invalidKey: Self { Self("invalid allowed key") }
}

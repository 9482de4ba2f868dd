internal import WarrenPrimitives
import ArgumentParser
import WarrenCrypto
import WarrenArgon2
import WarrenDiscovery

/// `warren genkey`: like `wg genkey`, a fresh clamped private key in base64 and a newline.
struct GenerateKey: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "genkey",
    abstract: "Generate a new private key and write it to standard output, like 'wg genkey'.")

  func run() {
    if StandardStreams.standardOutputIsWorldAccessibleFile {
      StandardStreams.printError(
        "Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.\n")
    }
    print(PrivateKey.generate().key.base64)
  }
}

/// `warren pubkey`: like `wg pubkey`, reads a private key from standard input and writes its public
/// key. The key must be the first 44 bytes of the input; only whitespace may follow.
struct PublicKey: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pubkey",
    abstract: "Read a private key from standard input and write its public key, like 'wg pubkey'.")

  func run() throws {
    let text = StandardStreams.read(upTo: Key.base64Count)
    guard text.count == Key.base64Count else {
      throw failure("Key is not the correct length or format: read \(text.count) of \(Key.base64Count) characters")
    }
    while true {
      let next = StandardStreams.read(upTo: 4096)
      if next.isEmpty { break }
      // Whitespace and NUL may follow the key, as `wg pubkey` allows.
      guard next.allSatisfy({ $0 == 0 || $0 == 0x20 || (0x09...0x0d).contains($0) }) else {
        throw failure("Trailing characters found after key")
      }
    }
    do {
      let key = try PrivateKey(base64: String(decoding: text, as: UTF8.self))
      print(key.publicKey.base64)
    } catch {
      throw failure("Key is not the correct length or format: \(error.message)")
    }
  }

  /// Prints `warren: message` to standard error, as `wg` does, and exits with status 1.
  private func failure(_ message: String) -> ExitCode {
    StandardStreams.printError("warren: \(message)\n")
    return ExitCode(1)
  }
}

/// `warren community-key`: reads a peer-discovery passphrase on standard input and prints the
/// community's public key, so that two nodes can check they share a community without showing
/// the passphrase. One trailing newline (`echo`'s) is not part of the passphrase.
struct CommunityPublicKey: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "community-key",
    abstract: "Read a community passphrase from standard input and write the community's public key.")

  /// Passphrases longer than this are refused (they are typed or kept in a file, not streamed).
  static let maximumLength = 4096

  func run() throws {
    var bytes = StandardStreams.read(upTo: Self.maximumLength + 2)
    if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    guard bytes.count <= Self.maximumLength else {
      StandardStreams.printError("warren: the passphrase is longer than \(Self.maximumLength) bytes\n")
      throw ExitCode(1)
    }
    guard let passphrase = String(validating: bytes, as: UTF8.self) else {
      StandardStreams.printError("warren: the passphrase is not UTF-8\n")
      throw ExitCode(1)
    }
    do {
      print(try CommunityKey.derive(passphrase: passphrase).publicKey.base64)
    } catch {
      StandardStreams.printError("warren: \(error.message)\n")
      throw ExitCode(1)
    }
  }
}

import ArgumentParser
import WarrenCrypto

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

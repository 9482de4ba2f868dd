import ArgumentParser
import Foundation
import WarrenCrypto
import WarrenDiscovery
import WarrenPrimitives

/// `warren addresses`: reads a WireGuard public key on standard input and prints the addresses
/// derived from it (``KeyDerivedAddress``), as `cunicu addresses` does: one per prefix, cunicu's
/// default prefixes unless `--prefix` is given.
struct Addresses: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "addresses",
    abstract: "Read a public key from standard input and print the addresses derived from it, like 'cunicu addresses'.")

  @Option(name: .customLong("prefix"), help: "A prefix to derive an address in (repeatable; default: fc2f:9a4d::/32 and 10.237.0.0/16).")
  var prefixes: [String] = []

  @Flag(name: [.short, .customLong("mask")], help: "Print each address with its prefix length.")
  var mask = false

  func run() throws {
    var prefixes: [IPPrefix] = []
    for text in self.prefixes {
      guard let prefix = IPPrefix(text) else { throw ValidationError("--prefix \(text) is not an ADDRESS/LENGTH prefix") }
      prefixes.append(prefix)
    }
    let input = String(decoding: StandardStreams.read(upTo: 4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let key: Key
    do { key = try Key(base64: input) } catch {
      StandardStreams.printError("warren: the public key on standard input is not valid: \(error.message)\n")
      throw ExitCode(1)
    }
    for prefix in prefixes.isEmpty ? KeyDerivedAddress.defaultPrefixes : prefixes {
      let address = KeyDerivedAddress.address(of: key, in: prefix)
      print(mask ? address.description : address.address.description)
    }
  }
}

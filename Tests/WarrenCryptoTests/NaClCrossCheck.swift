import Foundation
import Testing
import WarrenCrypto

/// The Swift half of the randomized cross-check with libsodium (Interop/nacl/crosscheck.py): opens
/// every libsodium box of `$WARREN_NACL_CASES` and seals every message again with its own random
/// nonce into `$WARREN_NACL_RESULTS`, which the Python half then opens with libsodium.
/// Runs only when those variables are set (CI's interop stage).
@Suite("libsodium cross-check", .enabled(if: ProcessInfo.processInfo.environment["WARREN_NACL_CASES"] != nil))
struct NaClCrossCheck {
  struct Cases: Decodable {
    struct Case: Decodable {
      let sender_private: String
      let sender_public: String
      let recipient_private: String
      let recipient_public: String
      let nonce: String
      let message: String
      let libsodium_box: String
    }
    let cases: [Case]
  }

  struct Results: Encodable {
    struct Result: Encodable {
      let opened_libsodium_box: Bool
      let warren_box: String
      let warren_nonce: String
    }
    let results: [Result]
  }

  @Test("Warren opens libsodium's boxes and seals boxes for libsodium to open")
  func crossCheck() throws {
    let environment = ProcessInfo.processInfo.environment
    let input = try Data(contentsOf: URL(fileURLWithPath: environment["WARREN_NACL_CASES"]!))
    let cases = try JSONDecoder().decode(Cases.self, from: input).cases
    #expect(cases.count >= 1000)
    let random = SystemRandomSource()
    var results: [Results.Result] = []
    for (index, testCase) in cases.enumerated() {
      let sender = try PrivateKey(base64: testCase.sender_private)
      let recipient = try PrivateKey(base64: testCase.recipient_private)
      #expect(sender.publicKey.base64 == testCase.sender_public, "case \(index)")
      #expect(recipient.publicKey.base64 == testCase.recipient_public, "case \(index)")
      let message = [UInt8](Data(base64Encoded: testCase.message)!)
      let nonce = [UInt8](Data(base64Encoded: testCase.nonce)!)
      let libsodiumBox = [UInt8](Data(base64Encoded: testCase.libsodium_box)!)

      // Same inputs, same bytes: Warren's box under libsodium's nonce is libsodium's box.
      #expect(try CryptoBox.seal(message, nonce: nonce, ours: sender, theirs: recipient.publicKey) == libsodiumBox,
              "case \(index)")
      let opened = try? CryptoBox.open(libsodiumBox, nonce: nonce, ours: recipient, theirs: sender.publicKey)
      #expect(opened == message, "case \(index)")

      let ownNonce = random.bytes(24)
      let ownBox = try CryptoBox.seal(message, nonce: ownNonce, ours: sender, theirs: recipient.publicKey)
      results.append(.init(
        opened_libsodium_box: opened == message,
        warren_box: Data(ownBox).base64EncodedString(),
        warren_nonce: Data(ownNonce).base64EncodedString()))
    }
    let output = try JSONEncoder().encode(Results(results: results))
    try output.write(to: URL(fileURLWithPath: environment["WARREN_NACL_RESULTS"]!))
  }
}

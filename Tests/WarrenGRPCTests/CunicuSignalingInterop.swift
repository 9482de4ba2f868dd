import Foundation
import SwiftProtobuf
import Testing
import WarrenCrypto
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

/// Warren against the real cunicu's signaling code (Interop/cunicu/run.sh): `cunicu-sigcheck`, built
/// inside cunicu's module, seals, opens, publishes and subscribes with cunicu's own `pkg/signaling`.
/// Runs only when the script names the helper (`WARREN_CUNICU_SIGCHECK`); the exchange through a
/// server also needs `WARREN_CUNICU_SERVER` (host:port of `cunicu signal` or `warren signal`).
@Suite("cunicu signaling interop", .enabled(if: CunicuSigcheck.path != nil))
struct CunicuSignalingInterop {
  /// One message of each kind cunicu sends, in protobuf's JSON mapping (as cunicu-sigcheck takes it).
  static let messages = [
    #"{"credentials":{"ufrag":"aBcD","pwd":"0123456789abcdefghijklmn","needCreds":true}}"#,
    #"{"candidate":{"type":"SERVER_REFLEXIVE","networkType":"UDP4","foundation":"3752564426","component":1,"#
      + #""priority":1694498815,"address":"198.51.100.2","port":51234,"relatedAddress":{"address":"10.1.0.2","port":40000}}}"#,
    #"{"candidate":{"type":"RELAY","networkType":"UDP4","foundation":"1","component":1,"priority":16777215,"#
      + #""address":"198.51.100.1","port":49152,"relatedAddress":{"address":"203.0.113.2","port":40001},"relayProtocol":"UDP"}}"#,
    #"{"peer":{"change":"UPDATE","name":"host-a","publicKey":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=","#
      + #""allowedIps":["10.237.1.2/32","fc2f:9a4d::1/128"],"hosts":{"host-a":{"addresses":[{"addr":"Cu0BAg=="}]}}}}"#,
  ]

  @Test("envelopes cunicu seals open in Warren, with cunicu's message intact", .timeLimit(.scaled(minutes: 1)))
  func cunicuSealsWarrenOpens() async throws {
    let cunicu = try await CunicuSigcheck.keygen()
    let warren = PrivateKey.generate()
    for json in Self.messages {
      let sealed = try await CunicuSigcheck.run(["seal", "-k", cunicu.private, "-p", warren.publicKey.base64, "-m", json])
      let envelope = try Cunicu_Signaling_Envelope(jsonString: sealed)
      let opened = try EnvelopeSealer().open(envelope, as: warren)
      #expect(opened.sender.base64 == cunicu.public)
      #expect(opened.message == (try Cunicu_Signaling_Message(jsonString: json)), "\(json)")
    }
  }

  @Test("envelopes Warren seals open in cunicu, with Warren's message intact", .timeLimit(.scaled(minutes: 1)))
  func warrenSealsCunicuOpens() async throws {
    let cunicu = try await CunicuSigcheck.keygen()
    let warren = PrivateKey.generate()
    for json in Self.messages {
      let message = try Cunicu_Signaling_Message(jsonString: json)
      let envelope = try EnvelopeSealer().seal(message, keys: KeyPair(ours: warren, theirs: try Key(base64: cunicu.public)))
      let output = try await CunicuSigcheck.run(["open", "-k", cunicu.private, "-e", try envelope.jsonString()])
      let opened = try CunicuSigcheck.Received(output)
      #expect(opened.from == warren.publicKey.base64)
      #expect(opened.message == message, "\(json)")
    }
  }

  @Test("cunicu's client and Warren's backend exchange messages through the server", .timeLimit(.scaled(minutes: 1)))
  func exchangeThroughServer() async throws {
    let server = try #require(ProcessInfo.processInfo.environment["WARREN_CUNICU_SERVER"], "WARREN_CUNICU_SERVER is not set")
    let url = "grpc://\(server)?insecure=true"
    let cunicu = try await CunicuSigcheck.keygen()
    let cunicuKey = try Key(base64: cunicu.public)
    let warren = PrivateKey.generate()
    let keys = KeyPair(ours: warren, theirs: cunicuKey)
    let backend = try grpcFactory().makeBackend(url: url)
    let subscription = try await backend.subscribe(keys)

    // Warren to cunicu: cunicu's subscriber waits for one message; Warren publishes until it has it
    // (the subscriber's own subscription may not exist yet when the first arrives).
    let toCunicu = {
      var message = Cunicu_Signaling_Message()
      message.credentials.ufrag = "warren"
      message.credentials.pwd = "warren-password-0123456789"
      return message
    }()
    let subscriber = try ExternalProcess(
      CunicuSigcheck.path!, ["sub", "-b", url, "-k", cunicu.private, "-p", warren.publicKey.base64, "-n", "1", "-t", "20s"])
    defer { subscriber.kill() }
    let publisher = Task {
      while !Task.isCancelled {
        try await backend.publish(toCunicu, keys: keys)
        try await Task.sleep(for: .milliseconds(200))
      }
    }
    let status = await subscriber.wait()
    publisher.cancel()
    #expect(status == 0, "cunicu's subscriber: \(subscriber.standardError)")
    let received = try CunicuSigcheck.Received(try #require(subscriber.lines.first))
    #expect(received.from == warren.publicKey.base64)
    #expect(received.message.credentials == toCunicu.credentials)

    // cunicu to Warren: cunicu publishes (one process each time) until Warren's subscription has it.
    let reader = Task { () -> OpenedEnvelope? in
      for await message in subscription { return message }
      return nil
    }
    let fromCunicu = #"{"credentials":{"ufrag":"cunicu","pwd":"cunicu-password-0123456789","needCreds":true}}"#
    let sender = Task {
      while !Task.isCancelled {
        _ = try await CunicuSigcheck.run(["pub", "-b", url, "-k", cunicu.private, "-p", warren.publicKey.base64, "-m", fromCunicu])
        try await Task.sleep(for: .milliseconds(300))
      }
    }
    let timeout = Task {
      try await Task.sleep(for: .seconds(20))
      subscription.cancel()
    }
    let message = await reader.value
    sender.cancel()
    timeout.cancel()
    let got = try #require(message, "no message from cunicu within 20 s")
    #expect(got.sender == cunicuKey)
    #expect(got.message == (try Cunicu_Signaling_Message(jsonString: fromCunicu)))
    subscription.cancel()
    await backend.close()
  }
}

/// The `cunicu-sigcheck` helper (../shared/interop/cunicu/README.md).
enum CunicuSigcheck {
  static let path = ProcessInfo.processInfo.environment["WARREN_CUNICU_SIGCHECK"]

  struct Failed: Error, CustomStringConvertible {
    let description: String
  }

  /// Runs one command to its end and returns its standard output, or throws its error output.
  static func run(_ arguments: [String]) async throws -> String {
    let result = try await ExternalProcess.run(path!, arguments)
    guard result.status == 0 else {
      throw Failed(description: "cunicu-sigcheck \(arguments.first ?? "") exited \(result.status): \(result.errors)")
    }
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// A key pair from cunicu's own generator.
  static func keygen() async throws -> (private: String, public: String) {
    let object = try JSONSerialization.jsonObject(with: Data(try await run(["keygen"]).utf8)) as? [String: String]
    guard let secret = object?["private"], let shared = object?["public"] else { throw Failed(description: "keygen printed no keys") }
    return (secret, shared)
  }

  /// A line `{"from": KEY, "message": {...}}` that `open` and `sub` print.
  struct Received {
    let from: String
    let message: Cunicu_Signaling_Message

    init(_ line: String) throws {
      guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        let from = object["from"] as? String, let message = object["message"]
      else { throw Failed(description: "not a received message: \(line)") }
      self.from = from
      self.message = try Cunicu_Signaling_Message(jsonUTF8Data: try JSONSerialization.data(withJSONObject: message))
    }
  }
}

import WarrenPrimitives
import Foundation
import Testing
import WarrenCrypto
import WarrenSignaling
import WarrenTestSupport
import WarrenWire

/// Warren's half of the gRPC interop check (Interop/grpc/run.sh): through the server at
/// `$WARREN_INTEROP_SERVER`, exchange ICE credentials with the independent Python peer using
/// session.md's need_creds handshake. Runs only when the interop script sets the variables.
@Suite("gRPC interop peer", .enabled(if: ProcessInfo.processInfo.environment["WARREN_INTEROP_SERVER"] != nil))
struct GRPCInteropPeer {
  @Test("exchange sealed credentials with the Python peer", .timeLimit(.scaled(minutes: 1)))
  func exchange() async throws {
    let environment = ProcessInfo.processInfo.environment
    let keys = KeyPair(
      ours: try PrivateKey(base64: environment["WARREN_INTEROP_KEY"]!),
      theirs: try Key(base64: environment["WARREN_INTEROP_PEER"]!))
    let backend = try grpcFactory().makeBackend(url: "grpc://\(environment["WARREN_INTEROP_SERVER"]!)?insecure=true")
    let subscription = try await backend.subscribe(keys)
    let mailbox = Locked<[OpenedEnvelope]>([])
    let reader = Task {
      for await message in subscription { mailbox.withLock { $0.append(message) } }
    }
    func send(needCreds: Bool) async throws {
      var message = Cunicu_Signaling_Message()
      message.credentials.ufrag = "warren"
      message.credentials.pwd = "warren-pwd"
      message.credentials.needCreds = needCreds
      try await backend.publish(message, keys: keys)
    }
    var gotTheirs = false
    var theyHaveOurs = false
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline, !(gotTheirs && theyHaveOurs) {
      if !gotTheirs { try await send(needCreds: true) }
      try await Task.sleep(for: .milliseconds(200))
      for received in mailbox.withLock({ mailbox in defer { mailbox = [] }; return mailbox }) {
        #expect(received.sender == keys.theirs)
        #expect(received.message.credentials.ufrag == "python")
        #expect(received.message.credentials.pwd == "python-pwd")
        gotTheirs = true
        if received.message.credentials.needCreds { try await send(needCreds: false) }
        theyHaveOurs = true
      }
    }
    #expect(gotTheirs && theyHaveOurs, "no credentials from the Python peer within 30 s")
    subscription.cancel()
    reader.cancel()
    await backend.close()
  }
}

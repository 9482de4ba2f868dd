import Foundation
import KubernetesTestAPIServer
import SwiftProtobuf
import Testing
import WarrenKubernetes
import WarrenWire

@Suite("SignalingEnvelope objects")
struct SignalingEnvelopeObjectTests {
  /// The whole envelopes of spec/vectors/nacl_box.json.
  static let envelopes: [Cunicu_Signaling_Envelope] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../WarrenCryptoTests/Vectors/nacl_box.json")
    let vectors = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    return (vectors["envelopes"] as! [[String: Any]]).map { vector in
      let hex = vector["envelope_hex"] as! String
      let bytes = stride(from: 0, to: hex.count, by: 2).map { offset in
        UInt8(hex[hex.index(hex.startIndex, offsetBy: offset)..<hex.index(hex.startIndex, offsetBy: offset + 2)], radix: 16)!
      }
      return try! Cunicu_Signaling_Envelope(serializedBytes: bytes)
    }
  }()

  @Test("the object's envelope fields are protobuf's JSON mapping of the Envelope, and read back to the same bytes")
  func jsonMapping() throws {
    #expect(Self.envelopes.count == 4)
    for envelope in Self.envelopes {
      let object = SignalingEnvelopeObject(envelope, namespace: "cunicu")
      let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(object)) as! [String: Any]
      let mapping = try JSONSerialization.jsonObject(with: Data(envelope.jsonString().utf8)) as! [String: Any]
      #expect(encoded["sender"] as? String == mapping["sender"] as? String)
      #expect(encoded["recipient"] as? String == mapping["recipient"] as? String)
      #expect(encoded["contents"] as? [String: String] == mapping["contents"] as? [String: String])
      #expect(encoded["apiVersion"] as? String == "cunicu.li/v1" && encoded["kind"] as? String == "SignalingEnvelope")
      #expect(encoded["metadata"] as? [String: String] == ["generateName": "cunicu-", "namespace": "cunicu"])
      #expect(try object.envelope().serializedBytes() as [UInt8] == envelope.serializedBytes())
    }
  }

  @Test("URL-safe and unpadded base64 are read, as protobuf's JSON mapping allows; bad fields are named")
  func lenientBase64() throws {
    let json = #"{"metadata":{"name":"x"},"sender":"_-8","recipient":"AAE","contents":{"body":"AQID","nonce":"BAU"}}"#
    let object = try JSONDecoder().decode(SignalingEnvelopeObject.self, from: Data(json.utf8))
    let envelope = try object.envelope()
    #expect(Array(envelope.sender) == [0xff, 0xef] && Array(envelope.recipient) == [0, 1] && Array(envelope.contents.nonce) == [4, 5])
    let missing = try JSONDecoder().decode(SignalingEnvelopeObject.self, from: Data(#"{"metadata":{},"recipient":"AAE"}"#.utf8))
    #expect(throws: KubernetesError(.invalidObject, "sender is missing")) { try missing.envelope() }
    let garbage = try JSONDecoder().decode(SignalingEnvelopeObject.self, from: Data(#"{"metadata":{},"sender":"AA","recipient":"%%"}"#.utf8))
    #expect(throws: KubernetesError(.invalidObject, "recipient is not base64")) { try garbage.envelope() }
  }

  @Test("watch events: each type, and an ERROR's status")
  func watchEvents() throws {
    let added = try WatchEvent(json: Array(#"{"type":"ADDED","object":{"metadata":{"name":"a","uid":"u1","resourceVersion":"7"},"sender":"AA==","recipient":"AA==","contents":{}}}"#.utf8))
    guard case .added(let meta, .success) = added else { Issue.record("\(added)"); return }
    #expect(meta.uid == "u1" && meta.resourceVersion == "7")
    let bad = try WatchEvent(json: Array(#"{"type":"MODIFIED","object":{"metadata":{"name":"b","resourceVersion":"8"},"sender":5}}"#.utf8))
    guard case .modified(let badMeta, .failure) = bad else { Issue.record("\(bad)"); return }
    #expect(badMeta.resourceVersion == "8")
    let bookmark = try WatchEvent(json: Array(#"{"type":"BOOKMARK","object":{"kind":"SignalingEnvelope","metadata":{"resourceVersion":"12"}}}"#.utf8))
    guard case .bookmark("12") = bookmark else { Issue.record("\(bookmark)"); return }
    let error = try WatchEvent(json: Array(#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}"#.utf8))
    guard case .error(let status) = error else { Issue.record("\(error)"); return }
    #expect(status.code == 410 && status.reason == "Expired")
    #expect(throws: KubernetesError.self) { try WatchEvent(json: Array(#"{"type":"SURPRISE","object":{}}"#.utf8)) }
    #expect(throws: KubernetesError.self) { try WatchEvent(json: Array("not json".utf8)) }
  }

  @Test("deploy/kubernetes/crd.yaml has the patterns the test API server enforces")
  func crdPatterns() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/kubernetes/crd.yaml")
    let crd = try String(contentsOf: url, encoding: .utf8)
    #expect(KubernetesTestAPIServer.schemaPatterns.count == 3)
    for pattern in KubernetesTestAPIServer.schemaPatterns {
      #expect(crd.contains("pattern: '\(pattern)'"), "\(pattern)")
    }
  }
}

internal import Foundation
public import WarrenWire

/// The object metadata the backend reads and writes (a part of Kubernetes' `ObjectMeta`).
public struct ObjectMeta: Codable, Sendable, Equatable {
  public var name: String?
  public var generateName: String?
  public var namespace: String?
  public var uid: String?
  public var resourceVersion: String?
  /// RFC 3339, like `2026-11-27T04:30:00Z`.
  public var creationTimestamp: String?

  public init(name: String? = nil, generateName: String? = nil, namespace: String? = nil) {
    self.name = name
    self.generateName = generateName
    self.namespace = namespace
  }

  /// `creationTimestamp` as a point in time, `nil` when absent or unreadable.
  var created: Date? { creationTimestamp.flatMap { try? Date($0, strategy: .iso8601) } }
}

/// One sealed envelope as a `cunicu.li/v1` `SignalingEnvelope` object (wire.md): `sender`,
/// `recipient` and `contents: {body, nonce}` next to `apiVersion`, `kind` and `metadata`, the
/// `Envelope` in protobuf's JSON mapping (bytes as base64).
public struct SignalingEnvelopeObject: Codable, Sendable {
  public static let group = "cunicu.li"
  public static let version = "v1"
  public static let apiVersion = "\(group)/\(version)"
  public static let kind = "SignalingEnvelope"
  public static let plural = "signalingenvelopes"
  /// wire.md: objects are created with this `generateName`.
  public static let generateName = "cunicu-"

  public struct Contents: Codable, Sendable, Equatable {
    /// Absent when empty, as protobuf's JSON mapping leaves out default values.
    public var body: String?
    public var nonce: String?
  }

  public var apiVersion: String?
  public var kind: String?
  public var metadata: ObjectMeta
  public var sender: String?
  public var recipient: String?
  public var contents: Contents?

  /// The object that publishes `envelope` in `namespace`.
  public init(_ envelope: Cunicu_Signaling_Envelope, namespace: String) {
    apiVersion = Self.apiVersion
    kind = Self.kind
    metadata = ObjectMeta(generateName: Self.generateName, namespace: namespace)
    sender = Data(envelope.sender).base64EncodedString()
    recipient = Data(envelope.recipient).base64EncodedString()
    contents = Contents(
      body: envelope.contents.body.isEmpty ? nil : Data(envelope.contents.body).base64EncodedString(),
      nonce: envelope.contents.nonce.isEmpty ? nil : Data(envelope.contents.nonce).base64EncodedString())
  }

  /// The envelope this object carries; the error names the field that is missing or not base64.
  public func envelope() throws(KubernetesError) -> Cunicu_Signaling_Envelope {
    var envelope = Cunicu_Signaling_Envelope()
    envelope.sender = try Self.bytes(sender, "sender", optional: false)
    envelope.recipient = try Self.bytes(recipient, "recipient", optional: false)
    envelope.contents.body = try Self.bytes(contents?.body, "contents.body", optional: true)
    envelope.contents.nonce = try Self.bytes(contents?.nonce, "contents.nonce", optional: true)
    return envelope
  }

  /// Protobuf's JSON mapping accepts standard and URL-safe base64, with or without padding.
  private static func bytes(_ text: String?, _ field: String, optional: Bool) throws(KubernetesError) -> Data {
    guard let text else {
      if optional { return Data() }
      throw KubernetesError(.invalidObject, "\(field) is missing")
    }
    var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    if standard.count % 4 != 0 { standard += String(repeating: "=", count: 4 - standard.count % 4) }
    guard let data = Data(base64Encoded: standard) else {
      throw KubernetesError(.invalidObject, "\(field) is not base64")
    }
    return data
  }
}

/// `SignalingEnvelopeList`: a list response. Items that do not decode are kept as failures so that
/// one bad object cannot hide the others.
public struct SignalingEnvelopeList: Decodable, Sendable {
  public struct ListMeta: Codable, Sendable {
    public var resourceVersion: String?
    public var `continue`: String?
  }

  public var metadata: ListMeta
  public var items: [Item]

  public struct Item: Decodable, Sendable {
    public var metadata: ObjectMeta?
    public var object: Result<SignalingEnvelopeObject, KubernetesError>

    public init(from decoder: any Decoder) throws {
      metadata = try? MetadataOnly(from: decoder).metadata
      do { object = .success(try SignalingEnvelopeObject(from: decoder)) } catch {
        object = .failure(KubernetesError(.invalidObject, "not a SignalingEnvelope: \(error)"))
      }
    }
  }

  enum CodingKeys: String, CodingKey { case metadata, items }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
    items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
  }
}

/// An object's metadata alone: what a `BOOKMARK` carries, and what is read of any object.
struct MetadataOnly: Decodable {
  var metadata: ObjectMeta
}

/// `metav1.Status`: what the API server answers when something fails, and what an `ERROR` watch
/// event carries.
public struct APIStatus: Codable, Sendable, Equatable {
  public var kind: String?
  public var apiVersion: String?
  public var status: String?
  public var message: String?
  public var reason: String?
  public var code: Int?
}

/// One line of a watch stream.
public enum WatchEvent: Sendable {
  case added(ObjectMeta, Result<SignalingEnvelopeObject, KubernetesError>)
  case modified(ObjectMeta, Result<SignalingEnvelopeObject, KubernetesError>)
  case deleted(ObjectMeta)
  case bookmark(resourceVersion: String)
  case error(APIStatus)

  /// Decodes one line (`{"type": "ADDED", "object": {...}}`).
  public init(json: some Collection<UInt8>) throws(KubernetesError) {
    let data = Data(json)
    let decoder = JSONDecoder()
    let type: String
    do { type = try decoder.decode(EventHead.self, from: data).type } catch {
      throw KubernetesError(.invalidResponse, "a watch event without a type: \(error)")
    }
    do {
      switch type {
      case "ERROR":
        self = .error(try decoder.decode(EventBody<APIStatus>.self, from: data).object)
      case "BOOKMARK":
        let meta = try decoder.decode(EventBody<MetadataOnly>.self, from: data).object.metadata
        self = .bookmark(resourceVersion: meta.resourceVersion ?? "")
      case "ADDED", "MODIFIED", "DELETED":
        let meta = try decoder.decode(EventBody<MetadataOnly>.self, from: data).object.metadata
        if type == "DELETED" {
          self = .deleted(meta)
          return
        }
        let object: Result<SignalingEnvelopeObject, KubernetesError>
        do { object = .success(try decoder.decode(EventBody<SignalingEnvelopeObject>.self, from: data).object) } catch {
          object = .failure(KubernetesError(.invalidObject, "not a SignalingEnvelope: \(error)"))
        }
        self = type == "ADDED" ? .added(meta, object) : .modified(meta, object)
      default:
        throw KubernetesError(.invalidResponse, "unknown watch event type '\(type)'")
      }
    } catch let error as KubernetesError {
      throw error
    } catch {
      throw KubernetesError(.invalidResponse, "a \(type) watch event that does not decode: \(error)")
    }
  }
}

private struct EventHead: Decodable { var type: String }
private struct EventBody<Object: Decodable>: Decodable { var object: Object }

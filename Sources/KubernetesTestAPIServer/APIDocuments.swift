internal import Foundation

/// The fixed documents of the test API server: discovery for the `cunicu.li` group, `Status`
/// objects for errors, and the `SignalingEnvelope` schema of deploy/kubernetes/crd.yaml.
enum APIDocuments {
  static let group = "cunicu.li"
  static let version = "v1"
  static let groupVersion = "cunicu.li/v1"
  static let kind = "SignalingEnvelope"
  static let plural = "signalingenvelopes"

  static func json(_ object: Any) -> Data {
    (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
  }

  /// `GET /api`
  static var coreVersions: [String: Any] { [
    "kind": "APIVersions", "versions": ["v1"],
    "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]],
  ] }

  /// `GET /api/v1`: only namespaces, which this server keeps fixed.
  static var coreResources: [String: Any] { [
    "kind": "APIResourceList", "groupVersion": "v1",
    "resources": [
      ["name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]]
    ],
  ] }

  static var groupVersionEntry: [String: Any] { ["groupVersion": groupVersion, "version": version] }

  /// `GET /apis/cunicu.li`
  static var apiGroup: [String: Any] { [
    "kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [groupVersionEntry],
    "preferredVersion": groupVersionEntry,
  ] }

  /// `GET /apis`
  static var apiGroupList: [String: Any] { [
    "kind": "APIGroupList", "apiVersion": "v1",
    "groups": [["name": group, "versions": [groupVersionEntry], "preferredVersion": groupVersionEntry]],
  ] }

  /// `GET /apis/cunicu.li/v1`
  static var resources: [String: Any] { [
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": groupVersion,
    "resources": [
      [
        "name": plural, "singularName": "signalingenvelope", "namespaced": true, "kind": kind,
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["env"], "storageVersionHash": "warren-test",
      ]
    ],
  ] }

  /// `GET /version`
  static var version_: [String: Any] { [
    "major": "1", "minor": "30", "gitVersion": "v1.30.0-warren-test", "platform": "linux/amd64",
  ] }

  /// A `metav1.Status` for a failure.
  static func status(code: Int, reason: String, message: String, details: [String: Any]? = nil) -> [String: Any] {
    var status: [String: Any] = [
      "kind": "Status", "apiVersion": "v1", "metadata": [String: Any](), "status": "Failure", "message": message,
      "reason": reason, "code": code,
    ]
    if let details { status["details"] = details }
    return status
  }

  /// The 422 `Status` for an object that breaks the schema, with one cause per field (kubectl
  /// prints them as a list).
  static func invalid(_ name: String, _ causes: [Cause]) -> [String: Any] {
    status(
      code: 422, reason: "Invalid",
      message: "\(kind).\(group) \"\(name)\" is invalid: [\(causes.map(\.description).joined(separator: ", "))]",
      details: ["name": name, "group": group, "kind": kind, "causes": causes.map(\.document)])
  }

  /// The patterns of deploy/kubernetes/crd.yaml (a test checks that the file has the same).
  static let keyPattern = "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"
  static let bodyPattern = "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
  static let noncePattern = "^[A-Za-z0-9+/]{32}$"

  /// One reason an object is invalid, as `Status.details.causes` lists it.
  struct Cause {
    var field: String
    var reason: String
    var message: String

    var document: [String: Any] { ["field": field, "reason": reason, "message": message] }
    var description: String { "\(field): \(message)" }
  }

  /// Checks an object against the CRD's schema; returns the causes of an Invalid answer.
  static func validate(_ object: [String: Any]) -> [Cause] {
    var causes: [Cause] = []
    func check(_ value: Any?, _ field: String, _ pattern: String) {
      guard let value else {
        causes.append(Cause(field: field, reason: "FieldValueRequired", message: "Required value"))
        return
      }
      guard let text = value as? String else {
        causes.append(Cause(field: field, reason: "FieldValueTypeInvalid", message: "Invalid value: \"\(type(of: value))\": \(field) in body must be of type string"))
        return
      }
      if text.range(of: pattern, options: .regularExpression) == nil {
        causes.append(Cause(field: field, reason: "FieldValueInvalid", message: "Invalid value: \"\(text)\": \(field) in body should match '\(pattern)'"))
      }
    }
    check(object["sender"], "sender", keyPattern)
    check(object["recipient"], "recipient", keyPattern)
    if let contents = object["contents"] as? [String: Any] {
      check(contents["body"], "contents.body", bodyPattern)
      check(contents["nonce"], "contents.nonce", noncePattern)
    } else {
      causes.append(Cause(field: "contents", reason: "FieldValueRequired", message: "Required value"))
    }
    return causes
  }
}

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// A signaling backend URL, split into what backends read: `grpc://host:port?insecure=true`,
/// `multicast://239.0.0.1:9999?interface=eth0`, `k8s:///path/to/kubeconfig?namespace=cunicu`,
/// `inprocess:`.
public struct BackendURL: Sendable, Hashable, CustomStringConvertible {
  /// The URL as given.
  public let text: String
  /// The scheme, lowercased.
  public let scheme: String
  /// The host, without IPv6 brackets; empty when the URL has none.
  public let host: String
  public let port: Int?
  public let path: String
  /// Query parameters; a parameter given twice keeps its last value.
  public let query: [String: String]

  public init(_ text: String) throws(SignalingError) {
    guard let components = URLComponents(string: text), let scheme = components.scheme, !scheme.isEmpty else {
      throw SignalingError(.invalidURL, "'\(text)' is not a backend URL (expected e.g. grpc://host:port or inprocess:)")
    }
    self.text = text
    self.scheme = scheme.lowercased()
    var host = components.host ?? ""
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    self.host = host
    self.port = components.port
    self.path = components.path
    var query: [String: String] = [:]
    for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
    self.query = query
  }

  public var description: String { text }

  /// A boolean query parameter: absent means `defaultValue`; `true`/`false`/`1`/`0`/`yes`/`no` and
  /// an empty value (`?insecure`) are accepted; anything else is an error naming the parameter.
  public func flag(_ name: String, default defaultValue: Bool = false) throws(SignalingError) -> Bool {
    guard let value = query[name] else { return defaultValue }
    switch value.lowercased() {
    case "", "true", "1", "yes": return true
    case "false", "0", "no": return false
    default:
      throw SignalingError(.invalidURL, "parameter '\(name)' of \(text) must be true or false, got '\(value)'")
    }
  }

  /// Fails if the URL has query parameters other than `known`, so that typos are caught.
  public func checkParameters(_ known: Set<String>) throws(SignalingError) {
    let unknown = Set(query.keys).subtracting(known)
    guard unknown.isEmpty else {
      let expected = known.isEmpty ? "none" : known.sorted().joined(separator: ", ")
      throw SignalingError(
        .invalidURL,
        "\(text): unknown parameter\(unknown.count > 1 ? "s" : "") \(unknown.sorted().joined(separator: ", ")) (known: \(expected))")
    }
  }
}

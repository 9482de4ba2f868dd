#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// A signaling backend URL, split into what backends read: `grpc://host:port?insecure=true`,
/// `multicast://239.0.0.1:9999?interface=eth0`, `k8s:///path/to/kubeconfig?namespace=cunicu`,
/// `inprocess:`. A `grpc://` URL may list the replicas of one clustered server:
/// `grpc://a.example.net:8080,b.example.net:8080?insecure=true` (docs/cluster.md).
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
  /// Every host and port of a list (`grpc://a:8080,b:8080`), the first being ``host`` and
  /// ``port``; one entry for a URL with one host, none without.
  public let authorities: [Authority]

  /// One host (without IPv6 brackets) and its port, if given.
  public struct Authority: Sendable, Hashable {
    public var host: String
    public var port: Int?

    public init(host: String, port: Int?) {
      self.host = host
      self.port = port
    }
  }

  /// Schemes whose URLs may list several hosts.
  static let listSchemes: Set<String> = ["grpc"]

  public init(_ text: String) throws(SignalingError) {
    // URLComponents takes one authority: the others of a list are read one by one.
    var parseable = text
    var others: [Substring] = []
    if let separator = text.firstRange(of: "://") {
      let rest = text[separator.upperBound...]
      let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
      let list = rest[..<end].split(separator: ",", omittingEmptySubsequences: false)
      if list.count > 1 {
        let head = String(text[..<separator.upperBound])
        parseable = head + String(list[0]) + String(rest[end...])
        others = Array(list.dropFirst())
      }
    }
    guard let components = URLComponents(string: parseable), let scheme = components.scheme, !scheme.isEmpty else {
      throw SignalingError(.invalidURL, "'\(text)' is not a backend URL (expected e.g. grpc://host:port or inprocess:)")
    }
    if !others.isEmpty && !Self.listSchemes.contains(scheme.lowercased()) {
      throw SignalingError(.invalidURL, "\(text): only grpc:// URLs may list several hosts")
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
    if !others.isEmpty && host.isEmpty {
      throw SignalingError(.invalidURL, "\(text): the list of hosts starts with an empty one")
    }
    var authorities = host.isEmpty ? [] : [Authority(host: host, port: components.port)]
    for other in others {
      guard let parsed = URLComponents(string: "\(scheme)://\(other)"), var host = parsed.host, !host.isEmpty, parsed.path.isEmpty else {
        throw SignalingError(.invalidURL, "\(text): '\(other)' in the list of hosts is not HOST or HOST:PORT")
      }
      if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
      authorities.append(Authority(host: host, port: parsed.port))
    }
    self.authorities = authorities
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

public import WarrenPrimitives
internal import WarrenSTUN

/// A STUN/TURN server as `warren signal --relay` takes it (a ``STUNURI`` plus two Warren
/// parameters): `stun:host:port`, `turn:user:pass@host:port?transport=udp`, `turns:…`, and
/// `?secret=S&ttl=1h` for TURN REST credentials minted per asking key.
public struct RelayURL: Sendable, Equatable {
  public enum Credentials: Sendable, Equatable {
    case none
    /// `user:pass@`, passed through as given.
    case `static`(username: String, password: String)
    /// TURN REST API credentials (`username = "<expiry>:<key>"`, HMAC-SHA1 password).
    case shared(secret: String, ttl: Int)
  }

  public let scheme: String
  public let host: String
  public let port: Int?
  /// Query parameters handed to clients (`transport`).
  public let parameters: [(name: String, value: String)]
  public let credentials: Credentials

  /// Default lifetime of minted TURN credentials.
  public static let defaultTTL = 3600

  public init(_ text: String) throws(RelayURLError) {
    let uri: STUNURI
    do {
      uri = try STUNURI(text, parameters: ["secret", "ttl"])
    } catch {
      throw RelayURLError(error)
    }
    let secret = uri.parameter("secret")
    let ttl = try uri.parameter("ttl").map { text throws(RelayURLError) in try RelayURL.seconds(text, in: uri.text) } ?? RelayURL.defaultTTL
    switch (uri.username, secret) {
    case (.some, .some): throw RelayURLError(text, "give either user:pass@ or ?secret=, not both")
    case (.some(let username), nil):
      guard let password = uri.password else { throw RelayURLError(text, "credentials must be user:pass@") }
      credentials = .static(username: username, password: password)
    case (nil, .some(let secret)):
      guard uri.scheme.isTURN else { throw RelayURLError(text, "?secret= only applies to turn: and turns:") }
      guard !secret.isEmpty else { throw RelayURLError(text, "the secret is empty") }
      credentials = .shared(secret: secret, ttl: ttl)
    case (nil, nil): credentials = .none
    }
    scheme = uri.scheme.rawValue
    host = uri.host
    port = uri.explicitPort
    parameters = uri.transport.map { [("transport", $0.rawValue)] } ?? []
  }

  /// The URL handed to clients: no credentials, no secret.
  public var publicURL: String {
    let hostPart = host.contains(":") ? "[\(host)]" : host
    var url = "\(scheme):\(hostPart)"
    if let port { url += ":\(port)" }
    if !parameters.isEmpty { url += "?" + parameters.map { "\($0.name)=\($0.value)" }.joined(separator: "&") }
    return url
  }

  public static func == (lhs: RelayURL, rhs: RelayURL) -> Bool {
    lhs.publicURL == rhs.publicURL && lhs.credentials == rhs.credentials
  }

  /// `90`, `90s`, `15m`, `1h`, `1d` in seconds.
  static func seconds(_ text: String, in url: String) throws(RelayURLError) -> Int {
    let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    var digits = Substring(text)
    var unit = 1
    if let last = text.last, let factor = units[last] {
      unit = factor
      digits = digits.dropLast()
    }
    guard let value = Int(digits), value > 0 else {
      throw RelayURLError(url, "ttl must be a positive duration such as 3600, 90m or 1h, got '\(text)'")
    }
    return value * unit
  }
}

/// A `--relay` URL that cannot be used, and why (the message quotes it:
/// `'turn:h?x=1': unknown parameter 'x' (…)`).
public typealias RelayURLError = WarrenError<RelayURLErrorCodes>

/// The codes of ``RelayURLError``.
public enum RelayURLErrorCodes {}

extension ErrorCode where Domain == RelayURLErrorCodes {
  /// Not a usable `--relay` URL.
  public static var invalid: Self { Self("invalid relay URL") }
}

extension WarrenError where Codes == RelayURLErrorCodes {
  init(_ url: String, _ reason: String) { self.init(.invalid, "'\(url)': \(reason)") }

  /// ``STUNURI``'s messages quote the URL already.
  init(_ error: STUNError) { self.init(.invalid, error.message) }
}

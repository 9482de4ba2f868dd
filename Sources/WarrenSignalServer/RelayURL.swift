/// A STUN/TURN server as `warren signal --relay` takes it (RFC 7064 / RFC 7065 URIs plus two
/// Warren parameters): `stun:host:port`, `turn:user:pass@host:port?transport=udp`, `turns:…`, and
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
  /// Query parameters other than `secret` and `ttl` (such as `transport`), in their given order.
  public let parameters: [(name: String, value: String)]
  public let credentials: Credentials

  /// Default lifetime of minted TURN credentials.
  public static let defaultTTL = 3600

  public init(_ text: String) throws(RelayURLError) {
    guard let colon = text.firstIndex(of: ":") else { throw RelayURLError(text, "expected stun:, turn: or turns:") }
    let scheme = text[..<colon].lowercased()
    guard ["stun", "stuns", "turn", "turns"].contains(scheme) else {
      throw RelayURLError(text, "scheme '\(scheme)' is not stun, stuns, turn or turns")
    }
    var rest = Substring(text[text.index(after: colon)...])
    if rest.hasPrefix("//") { rest = rest.dropFirst(2) }
    var query = Substring("")
    if let question = rest.firstIndex(of: "?") {
      query = rest[rest.index(after: question)...]
      rest = rest[..<question]
    }
    var userinfo: Substring?
    if let at = rest.lastIndex(of: "@") {
      userinfo = rest[..<at]
      rest = rest[rest.index(after: at)...]
    }
    // host, [v6]:port or host:port
    var host = rest
    var port: Int?
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else { throw RelayURLError(text, "unclosed '[' in the host") }
      host = rest[rest.index(after: rest.startIndex)..<close]
      let after = rest[rest.index(after: close)...]
      if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? -1 } else if !after.isEmpty { port = -1 }
    } else if let portColon = rest.lastIndex(of: ":") {
      host = rest[..<portColon]
      port = Int(rest[rest.index(after: portColon)...]) ?? -1
    }
    guard !host.isEmpty else { throw RelayURLError(text, "no host") }
    if let port, !(1...65535).contains(port) { throw RelayURLError(text, "the port must be a number from 1 to 65535") }

    var parameters: [(name: String, value: String)] = []
    var secret: String?
    var ttl = RelayURL.defaultTTL
    for item in query.split(separator: "&") where !item.isEmpty {
      let pair = item.split(separator: "=", maxSplits: 1)
      let name = String(pair[0])
      let value = pair.count > 1 ? String(pair[1]) : ""
      switch name {
      case "secret": secret = value
      case "ttl": ttl = try RelayURL.seconds(value, in: text)
      case "transport":
        guard ["udp", "tcp"].contains(value.lowercased()) else {
          throw RelayURLError(text, "transport must be udp or tcp, got '\(value)'")
        }
        parameters.append((name, value.lowercased()))
      default: throw RelayURLError(text, "unknown parameter '\(name)' (known: secret, transport, ttl)")
      }
    }

    switch (userinfo, secret) {
    case (.some, .some): throw RelayURLError(text, "give either user:pass@ or ?secret=, not both")
    case (.some(let info), nil):
      guard scheme.hasPrefix("turn"), let split = info.firstIndex(of: ":") else {
        throw RelayURLError(text, "credentials must be user:pass@ on a turn: or turns: URL")
      }
      credentials = .static(username: String(info[..<split]), password: String(info[info.index(after: split)...]))
    case (nil, .some(let secret)):
      guard scheme.hasPrefix("turn") else { throw RelayURLError(text, "?secret= only applies to turn: and turns:") }
      guard !secret.isEmpty else { throw RelayURLError(text, "the secret is empty") }
      credentials = .shared(secret: secret, ttl: ttl)
    case (nil, nil): credentials = .none
    }
    self.scheme = scheme
    self.host = String(host)
    self.port = port
    self.parameters = parameters
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

/// A `--relay` URL that cannot be used, and why.
public struct RelayURLError: Error, Sendable, CustomStringConvertible {
  public let url: String
  public let reason: String

  init(_ url: String, _ reason: String) {
    self.url = url
    self.reason = reason
  }

  public var description: String { "invalid relay URL '\(url)': \(reason)" }
}

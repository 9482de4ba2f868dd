public import WarrenPrimitives

/// A STUN or TURN server URI (RFC 7064 §3.1, RFC 7065 §3.1): `stun:host[:port]`,
/// `turns:[2001:db8::1]:5349?transport=tcp`, with the `user:pass@` credentials that cunicu and
/// coturn accept on TURN URIs (percent-encoded, RFC 3986 §3.2.1) and named query parameters.
/// The one parser for the daemon's `ice.urls` and for `warren signal --relay`; each caller names
/// the parameters it takes besides `transport`.
public struct STUNURI: Sendable, Hashable, CustomStringConvertible {
  public enum Scheme: String, Sendable, Hashable {
    case stun, stuns, turn, turns

    public var isTURN: Bool { self == .turn || self == .turns }
    /// Over TLS (or DTLS).
    public var isSecure: Bool { self == .stuns || self == .turns }
    /// 5349 for the secure schemes, 3478 otherwise (RFC 7064 §3.1, RFC 7065 §3.1).
    public var defaultPort: Int { isSecure ? 5349 : 3478 }
  }

  /// RFC 7065 `?transport=`.
  public enum Transport: String, Sendable, Hashable {
    case udp, tcp
  }

  /// The URI as written.
  public let text: String
  public let scheme: Scheme
  /// A host name or an IP literal (without brackets).
  public let host: String
  /// The port written in the URI, if any.
  public let explicitPort: Int?
  public let username: String?
  public let password: String?
  public let transport: Transport?
  /// Query parameters other than `transport`, in their order.
  public let parameters: [Parameter]

  public struct Parameter: Sendable, Hashable {
    public let name: String
    public let value: String
  }

  /// The port to use: the written one or the scheme's default.
  public var port: Int { explicitPort ?? scheme.defaultPort }

  public var description: String { text }

  /// The value of parameter `name`, if given.
  public func parameter(_ name: String) -> String? {
    parameters.last { $0.name == name }?.value
  }

  /// Parses `text`; `known` are the parameters the caller accepts besides `transport`. The
  /// error's message quotes the URI and says what is wrong with it.
  public init(_ text: String, parameters known: Set<String> = []) throws(STUNError) {
    func problem(_ reason: String) -> STUNError { STUNError(.invalidURI, "'\(text)': \(reason)") }
    self.text = text
    guard let colon = text.firstIndex(of: ":"), let scheme = Scheme(rawValue: text[..<colon].lowercased()) else {
      throw problem("expected stun:, stuns:, turn: or turns:")
    }
    self.scheme = scheme
    var rest = Substring(text[text.index(after: colon)...])
    guard !rest.hasPrefix("//") else { throw problem("no '//' after '\(scheme.rawValue):' (RFC 7064: \(scheme.rawValue):host:port)") }

    var transport: Transport?
    var parameters: [Parameter] = []
    if let question = rest.firstIndex(of: "?") {
      for item in rest[rest.index(after: question)...].split(separator: "&") where !item.isEmpty {
        let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = pair[0], value = pair.count == 2 ? pair[1] : ""
        if name == "transport" {
          guard scheme.isTURN else { throw problem("transport applies to turn: and turns: only") }
          guard let parsed = Transport(rawValue: value.lowercased()) else { throw problem("transport must be udp or tcp, got '\(value)'") }
          transport = parsed
        } else if known.contains(name) {
          parameters.append(Parameter(name: name, value: value))
        } else {
          throw problem("unknown parameter '\(name)' (known: \((known.union(["transport"])).sorted().joined(separator: ", ")))")
        }
      }
      rest = rest[..<question]
    }
    self.transport = transport
    self.parameters = parameters

    var username: String?
    var password: String?
    if let at = rest.lastIndex(of: "@") {
      guard scheme.isTURN else { throw problem("credentials (user:pass@) apply to turn: and turns: only") }
      let parts = rest[..<at].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      guard let user = parts[0].percentDecoded, let pass = parts.count == 2 ? parts[1].percentDecoded : "" else {
        throw problem("malformed %-escape in the credentials")
      }
      username = user
      password = parts.count == 2 ? pass : nil
      rest = rest[rest.index(after: at)...]
    }
    self.username = username
    self.password = password

    var portText: Substring?
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else { throw problem("unclosed '[' in the host") }
      host = String(rest[rest.index(after: rest.startIndex)..<close])
      let after = rest[rest.index(after: close)...]
      if !after.isEmpty {
        guard after.hasPrefix(":") else { throw problem("expected ':PORT' after ']'") }
        portText = after.dropFirst()
      }
    } else if let portColon = rest.lastIndex(of: ":") {
      host = String(rest[..<portColon])
      portText = rest[rest.index(after: portColon)...]
    } else {
      host = String(rest)
    }
    guard !host.isEmpty else { throw problem("no host") }
    if let portText {
      guard let value = Int(portText), (1...65535).contains(value) else { throw problem("port must be 1-65535, got '\(portText)'") }
      explicitPort = value
    } else {
      explicitPort = nil
    }
  }
}

extension String {
  /// `%XX` escapes decoded; nil when an escape is malformed or the result is not UTF-8.
  fileprivate var percentDecoded: String? {
    var bytes: [UInt8] = []
    var iterator = Array(utf8).makeIterator()
    while let byte = iterator.next() {
      guard byte == UInt8(ascii: "%") else {
        bytes.append(byte)
        continue
      }
      guard let high = iterator.next(), let low = iterator.next(),
        let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
      else { return nil }
      bytes.append(value)
    }
    return String(validating: bytes, as: UTF8.self)
  }
}

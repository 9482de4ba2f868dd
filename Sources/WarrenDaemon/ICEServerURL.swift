/// An entry of `ice.urls`: a STUN or TURN server (RFC 7064, RFC 7065, with cunicu's
/// `turn:user:pass@host` credentials) or a signaling server's relay registry (`grpc://…`).
public struct ICEServerURL: Sendable, Hashable, CustomStringConvertible {
  public enum Scheme: String, Sendable {
    case stun, stuns, turn, turns, grpc
  }

  public var scheme: Scheme
  /// A host name or an IP literal (without brackets).
  public var host: String
  public var port: Int
  public var username: String?
  public var password: String?
  /// `?transport=udp|tcp` for TURN.
  public var transport: String?
  /// `?skip_verify=true` on `turns:`: TLS without certificate verification (testing only).
  public var skipVerify = false
  /// The URL as written.
  public let text: String

  public var description: String { text }

  /// Parses one URL; the error says what is wrong with it.
  public init(_ text: String) throws(ConfigurationProblem) {
    self.text = text
    guard let colon = text.firstIndex(of: ":"), let scheme = Scheme(rawValue: text[..<colon].lowercased()) else {
      throw ConfigurationProblem("'\(text)': expected stun:, stuns:, turn:, turns: or grpc://")
    }
    self.scheme = scheme
    var rest = Substring(text[text.index(after: colon)...])
    if scheme == .grpc {
      guard rest.hasPrefix("//") else { throw ConfigurationProblem("'\(text)': expected grpc://HOST:PORT") }
      rest = rest.dropFirst(2)
      if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
    } else if rest.hasPrefix("//") {
      throw ConfigurationProblem("'\(text)': \(scheme): URLs have no '//' (RFC 7064: stun:host:port)")
    }
    if let question = rest.firstIndex(of: "?") {
      for pair in rest[rest.index(after: question)...].split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        if parts.first == "skip_verify" {
          skipVerify = parts.count == 2 && parts[1] == "true"
        } else if parts.first == "transport" {
          guard parts.count == 2, ["udp", "tcp"].contains(parts[1]) else {
            throw ConfigurationProblem("'\(text)': transport must be udp or tcp")
          }
          transport = parts[1]
        }
      }
      rest = rest[..<question]
    }
    if let at = rest.lastIndex(of: "@") {
      let credentials = rest[..<at]
      let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      username = parts[0].percentDecoded
      password = parts.count == 2 ? parts[1].percentDecoded : nil
      rest = rest[rest.index(after: at)...]
    }
    var portText: Substring?
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else { throw ConfigurationProblem("'\(text)': unclosed '[' in the host") }
      host = String(rest[rest.index(after: rest.startIndex)..<close])
      let after = rest[rest.index(after: close)...]
      if !after.isEmpty {
        guard after.hasPrefix(":") else { throw ConfigurationProblem("'\(text)': expected ':PORT' after ']'") }
        portText = after.dropFirst()
      }
    } else if let colon = rest.lastIndex(of: ":") {
      host = String(rest[..<colon])
      portText = rest[rest.index(after: colon)...]
    } else {
      host = String(rest)
    }
    guard !host.isEmpty else { throw ConfigurationProblem("'\(text)': no host") }
    switch scheme {
    case .stuns, .turns: port = 5349
    case .stun, .turn: port = 3478
    case .grpc: port = 8080
    }
    if let portText {
      guard let value = Int(portText), (1...65535).contains(value) else {
        throw ConfigurationProblem("'\(text)': port must be 1-65535, got '\(portText)'")
      }
      port = value
    }
  }
}

/// What is wrong with one value; the configuration reader adds the file, line and field.
public struct ConfigurationProblem: Error, Sendable, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

extension String {
  /// `%XX` escapes decoded (userinfo in TURN URLs); nil when an escape is malformed.
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

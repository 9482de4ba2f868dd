internal import WarrenSignaling
internal import WarrenICENIO
public import WarrenPrimitives
internal import WarrenSTUN

/// An entry of `ice.urls`: a STUN or TURN server (``STUNURI``: RFC 7064, RFC 7065, with
/// cunicu's `turn:user:pass@host` credentials, and `?skip_verify=true` on `turns:` for testing),
/// or a signaling server's relay registry (`grpc://…`, as a backend URL).
public struct ICEServerURL: Sendable, Hashable, CustomStringConvertible {
  public enum Scheme: String, Sendable {
    case stun, turn, turns, grpc
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

  /// The default port of a relay registry (the signal server's).
  static let registryPort = 8080

  /// Parses one URL; the error says what is wrong with it.
  public init(_ text: String) throws(ConfigurationProblem) {
    self.text = text
    let scheme = text.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() } ?? ""
    if scheme == "stuns" {
      throw ConfigurationProblem("'\(text)': STUN over TLS (stuns:) is not supported; use stun:, or turns: for a relay over TLS")
    }
    guard Scheme(rawValue: scheme) != nil, text.contains(":") else {
      throw ConfigurationProblem("'\(text)': expected stun:, turn:, turns: or grpc://")
    }
    if scheme == "grpc" {
      let url: BackendURL
      do { url = try BackendURL(text) } catch { throw ConfigurationProblem("'\(text)': \(error.message)") }
      guard !url.host.isEmpty else { throw ConfigurationProblem("'\(text)': expected grpc://HOST:PORT") }
      self.scheme = .grpc
      host = url.host
      port = url.port ?? Self.registryPort
      return
    }
    let uri: STUNURI
    do { uri = try STUNURI(text, parameters: ["skip_verify"]) } catch { throw ConfigurationProblem(error.message) }
    self.scheme = Scheme(rawValue: uri.scheme.rawValue)!
    host = uri.host
    port = uri.port
    username = uri.username
    password = uri.password
    transport = uri.transport?.rawValue
    skipVerify = uri.parameter("skip_verify") == "true"
  }
}

internal import GRPCCore
internal import GRPCNIOTransportHTTP2
internal import Logging
public import WarrenCrypto
public import WarrenSignaling

/// Where a `grpc://host:port?insecure=true&skip_verify=true&server_key=KEY` URL points, and how to
/// talk to it: `insecure` is plaintext HTTP/2, otherwise TLS; `skip_verify` is TLS without
/// certificate checks; `server_key` pins the server's public key for proofs of key possession
/// (base64; `+` may be written as `%2B`), learned on first contact without it.
///
/// The replicas of a clustered server are listed (`grpc://a:8080,b:8080`) or share a DNS name
/// with several addresses. The client uses one listed replica, chosen at random so that clients
/// spread over them, and the next in the list when it goes away (``ReplicaFailover``): its
/// subscriptions are made again there, and publishes and relay-registry calls follow. Within one
/// name, gRPC's pick-first policy tries its addresses, shuffled. TLS checks each replica's
/// certificate against that replica's own name.
public struct GRPCEndpoint: Sendable, CustomStringConvertible {
  /// One replica's host and port.
  public struct Replica: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public var description: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }
  }

  /// Every replica, in the URL's order (one for a single server).
  public let replicas: [Replica]
  /// The first replica's host and port.
  public var host: String { replicas[0].host }
  public var port: Int { replicas[0].port }
  public let insecure: Bool
  public let skipVerify: Bool
  public let serverKey: Key?

  /// The port used when the URL has none.
  public static let defaultPort = 8080

  public init(_ url: BackendURL) throws(SignalingError) {
    guard url.scheme == "grpc" else { throw SignalingError(.invalidURL, "\(url) is not a grpc:// URL") }
    try url.checkParameters(["insecure", "skip_verify", "server_key"])
    guard !url.host.isEmpty else { throw SignalingError(.invalidURL, "\(url) has no host (expected grpc://host:port)") }
    guard url.path.isEmpty || url.path == "/" else {
      throw SignalingError(.invalidURL, "\(url) has a path; a grpc:// URL is only host and port")
    }
    var replicas: [Replica] = []
    for authority in url.authorities {
      let port = authority.port ?? Self.defaultPort
      guard (1...65535).contains(port) else { throw SignalingError(.invalidURL, "\(url): port must be 1 to 65535") }
      replicas.append(Replica(host: authority.host, port: port))
    }
    self.replicas = replicas
    insecure = try url.flag("insecure")
    skipVerify = try url.flag("skip_verify")
    if let text = url.query["server_key"] {
      // A + that was not percent-encoded reads as a space in some URL parsers.
      guard let key = try? Key(base64: String(text.map { $0 == " " ? "+" : $0 })) else {
        throw SignalingError(.invalidURL, "\(url): server_key must be the server's base64 public key (44 characters)")
      }
      serverKey = key
    } else {
      serverKey = nil
    }
    if insecure && skipVerify {
      throw SignalingError(.invalidURL, "\(url): skip_verify applies to TLS; it cannot be combined with insecure")
    }
  }

  public var description: String {
    "\(insecure ? "http" : "https")://\(replicas.map(\.description).joined(separator: ","))"
  }

  /// The HTTP/2 transport to one replica (a name with several addresses is one replica: gRPC's
  /// pick-first policy tries them, shuffled). A TLS setup that fails is an error that says what to
  /// check: most often the system has no CA certificates (a minimal container or chroot).
  func makeTransport(
    to replica: Replica, config: HTTP2ClientTransport.Posix.Config = .defaults
  ) throws(SignalingError) -> HTTP2ClientTransport.Posix {
    let target: any ResolvableTarget =
      if replica.host.contains(":") {
        .ipv6(address: replica.host, port: replica.port)
      } else if replica.host.allSatisfy({ $0.isNumber || $0 == "." }) {
        .ipv4(address: replica.host, port: replica.port)
      } else {
        .dns(host: replica.host, port: replica.port)
      }
    do {
      return try HTTP2ClientTransport.Posix(
        target: target, transportSecurity: transportSecurity, config: config,
        serviceConfig: ServiceConfig(loadBalancingConfig: [.pickFirst(shuffleAddressList: true)]))
    } catch {
      guard !insecure else { throw SignalingError(.connectionSetupFailed, "\(self): cannot set up the connection (\(error))", causes: [error]) }
      throw SignalingError(
        .connectionSetupFailed,
        "\(self): cannot set up TLS (\(error)); the server's certificate is checked against the system's CA certificates "
          + "(/etc/ssl/certs, Debian's ca-certificates), or add ?insecure=true for plaintext", causes: [error])
    }
  }

  private var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
    if insecure { return .plaintext }
    return .tls { config in
      if skipVerify { config.serverCertificateVerification = .noVerification }
    }
  }
}

extension BackendFactory {
  /// Makes this factory build `grpc://` backends, and ask `grpc://` relay registries.
  ///
  /// `handoverSpread`: the window over which a lost replica's clients move to the others
  /// (``ReplicaFailover``; a benchmark compares it with none).
  public mutating func registerGRPC(
    backoff: ReconnectBackoff = ReconnectBackoff(), handoverSpread: Duration = ReplicaFailover.defaultHandoverSpread
  ) {
    register(scheme: "grpc") { url, sink, logger in
      try GRPCTransport(endpoint: GRPCEndpoint(url), sink: sink, backoff: backoff, handoverSpread: handoverSpread, logger: logger)
    }
    register(relayRegistryScheme: "grpc") { url, key, timeout in
      try await RelayRegistryClient.fetch(url: url, key: key, timeout: timeout, logger: Logger(label: "warren.relay-registry"))
    }
  }
}

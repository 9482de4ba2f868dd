internal import WarrenPrimitives
public import Foundation
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL

/// A Kubernetes API server for tests: the `cunicu.li/v1` `SignalingEnvelope` resource with the
/// semantics the `k8s://` backend relies on, on loopback. It serves discovery for the group
/// (legacy documents, enough for kubectl), namespaced create (with `generateName` and the CRD's
/// schema checks), get, list, delete, and chunked watches (`ADDED`, `DELETED`, `BOOKMARK`, and an
/// `ERROR` with `410 Gone` from a compacted resource version). Requests need a bearer token or a
/// client certificate issued by ``certificateAuthority``; TLS is on unless switched off.
///
/// Tests steer it: ``interruptWatches()`` breaks every open watch, ``compact()`` makes every
/// earlier resource version expire, ``clockOffset`` dates new objects in the past.
public final class KubernetesTestAPIServer: Sendable {
  public struct Options: Sendable {
    public var tls = true
    /// Bearer tokens that are accepted.
    public var tokens: Set<String> = ["warren-test-token"]
    /// Namespaces that exist; creating elsewhere is 404, as on a real server.
    public var namespaces: Set<String> = ["default", "cunicu"]
    /// How often a watch that asked for bookmarks gets one.
    public var bookmarkInterval: Duration = .seconds(1)

    public init() {}
  }

  public let options: Options
  public let certificateAuthority: TestCertificateAuthority
  /// The client certificate the CA issued for user `warren-test-client`.
  public let clientCertificate: TestCertificateAuthority.Issued
  public let port: Int
  let store = EnvelopeStore()
  private let channel: any Channel
  private let watches = Locked<[UUID: any Channel]>([:])
  private let requests = Locked<[String]>([])
  private let offset = Locked<Duration>(.zero)

  /// `https://127.0.0.1:PORT` (or `http://` without TLS).
  public var url: String { "\(options.tls ? "https" : "http")://127.0.0.1:\(port)" }

  /// Added to the clock when objects are created: negative values make old envelopes.
  public var clockOffset: Duration {
    get { offset.withLock { $0 } }
    set { offset.withLock { $0 = newValue } }
  }

  /// `METHOD path?query` of every request so far.
  public var requestLog: [String] { requests.withLock { $0 } }

  /// Watches open now.
  public var openWatches: Int { watches.withLock { $0.count } }

  /// The schema patterns enforced on create: the sender and recipient keys, the sealed body, the
  /// nonce (deploy/kubernetes/crd.yaml must declare the same).
  public static var schemaPatterns: [String] { [APIDocuments.keyPattern, APIDocuments.bodyPattern, APIDocuments.noncePattern] }

  /// The resource version of the last change.
  public var resourceVersion: Int { store.resourceVersion }

  public static func start(options: Options = Options()) async throws -> KubernetesTestAPIServer {
    let authority = try TestCertificateAuthority()
    let serverCertificate = try authority.issueServerCertificate()
    let client = try authority.issueClientCertificate(user: "warren-test-client")
    var context: NIOSSLContext?
    if options.tls {
      var tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serverCertificate.certificatePEM.utf8)).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serverCertificate.privateKeyPEM.utf8), format: .pem)))
      tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(authority.certificatePEM.utf8)))
      tls.certificateVerification = .optionalVerification
      context = try NIOSSLContext(configuration: tls)
    }
    let box = ServerBox()
    let tlsContext = context
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          if let tlsContext { try pipeline.addHandler(NIOSSLServerHandler(context: tlsContext)) }
          // Without pipelining assistance the connection keeps reading during a watch, so a client that
          // goes away (TLS close_notify, FIN) is seen at once, as a real API server sees it.
          try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
          try pipeline.addHandler(APIRequestHandler(server: box.server!))
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    let server = KubernetesTestAPIServer(
      options: options, authority: authority, client: client, channel: channel, port: channel.localAddress?.port ?? 0)
    box.server = server
    return server
  }

  private init(
    options: Options, authority: TestCertificateAuthority, client: TestCertificateAuthority.Issued, channel: any Channel, port: Int
  ) {
    self.options = options
    self.certificateAuthority = authority
    self.clientCertificate = client
    self.channel = channel
    self.port = port
  }

  public func stop() async {
    interruptWatches()
    try? await channel.close()
  }

  /// Breaks every open watch connection, as a restarting API server or a dropped connection would.
  public func interruptWatches() {
    let open = watches.withLock { watches in defer { watches = [:] }; return Array(watches.values) }
    for channel in open { channel.close(promise: nil) }
  }

  /// Forgets the event history: watches from any resource version before now get 410 Gone.
  public func compact() { store.compact() }

  /// Sets an annotation on an object, as `kubectl annotate` would: watches see `MODIFIED`.
  public func annotate(namespace: String = "cunicu", name: String, key: String, value: String) throws {
    _ = try store.update(namespace: namespace, name: name) { version, json in
      let stored = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] ?? [:]
      let patch: [String: Any] = ["metadata": ["annotations": [key: value], "resourceVersion": String(version)]]
      return APIDocuments.json(APIRequestHandler.mergePatch(stored, patch))
    }
  }

  /// The namespace's objects as JSON, as a list would return them.
  public func objects(namespace: String = "cunicu") -> [Data] { store.list(namespace: namespace).items }

  /// A kubeconfig for this server with a bearer token, or with the client certificate.
  public func kubeconfig(namespace: String? = "cunicu", useClientCertificate: Bool = false, token: String? = nil) -> String {
    let base64 = { (text: String) in Data(text.utf8).base64EncodedString() }
    var lines = [
      "apiVersion: v1", "kind: Config", "current-context: test",
      "clusters:", "- name: test", "  cluster:", "    server: \(url)",
    ]
    if options.tls { lines.append("    certificate-authority-data: \(base64(certificateAuthority.certificatePEM))") }
    lines += ["contexts:", "- name: test", "  context:", "    cluster: test", "    user: tester"]
    if let namespace { lines.append("    namespace: \(namespace)") }
    lines += ["users:", "- name: tester", "  user:"]
    if useClientCertificate {
      lines.append("    client-certificate-data: \(base64(clientCertificate.certificatePEM))")
      lines.append("    client-key-data: \(base64(clientCertificate.privateKeyPEM))")
    } else {
      lines.append("    token: \(token ?? options.tokens.sorted().first ?? "")")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  // MARK: - Used by the request handler

  func log(_ line: String) { requests.withLock { $0.append(line) } }

  func now() -> Date {
    let (seconds, attoseconds) = clockOffset.components
    return Date().addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
  }

  func opened(watch id: UUID, on channel: any Channel) { watches.withLock { $0[id] = channel } }
  func closed(watch id: UUID) { _ = watches.withLock { $0.removeValue(forKey: id) } }
}

/// Hands the server to connection handlers made before `start` returns.
private final class ServerBox: @unchecked Sendable {
  // Set once, before the first connection can be accepted by a test.
  var server: KubernetesTestAPIServer?
}

internal import WarrenPrimitives
internal import Foundation
internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import NIOSSL

/// The few calls of the Kubernetes API the backend makes on `SignalingEnvelope` objects: create,
/// list, watch and delete, over AsyncHTTPClient with the connection's TLS and credentials.
public final class KubernetesAPIClient: Sendable {
  public let connection: KubernetesConnection
  /// The longest an ordinary request (not a watch) may take, answer included.
  private let requestTimeout: Duration
  private let tls: TLSConfiguration
  /// The HTTP client, made at the first request: a backend that is made and dropped unused (its
  /// multi-backend failed on another URL) must not leave a client that was never shut down.
  private let http = Locked<HTTPState>(.idle)

  private enum HTTPState {
    case idle
    case running(HTTPClient)
    case shutDown
  }

  /// Checks the connection's TLS material; nothing is opened until the first request.
  public init(connection: KubernetesConnection, requestTimeout: Duration = .seconds(30)) throws(KubernetesError) {
    self.connection = connection
    self.requestTimeout = requestTimeout
    tls = try Self.tlsConfiguration(connection)
  }

  private func client() throws(KubernetesError) -> HTTPClient {
    try http.withLock { state throws(KubernetesError) in
      switch state {
      case .running(let client): return client
      case .shutDown: throw KubernetesError(.unreachable, "the client of \(connection.server) is shut down")
      case .idle:
        var configuration = HTTPClient.Configuration(
          tlsConfiguration: tls,
          // No read timeout: a watch can rightly stay quiet for minutes. Requests are bounded by
          // `requestTimeout`, and watches by the `timeoutSeconds` they ask for.
          timeout: .init(connect: .seconds(10), read: nil))
        // HTTP/1.1, as tested (the test API server speaks nothing else); a watch is one long
        // response on its own connection, and requests share the pool's other connections.
        configuration.httpVersion = .http1Only
        // A refused connection or an untrusted certificate fails the request at once rather than
        // after the connect timeout: the user may be waiting at a terminal, and the backend's
        // receive loop and the sessions retry with back-off of their own.
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        state = .running(client)
        return client
      }
    }
  }

  private static func tlsConfiguration(_ connection: KubernetesConnection) throws(KubernetesError) -> TLSConfiguration {
    var tls = TLSConfiguration.makeClientConfiguration()
    do {
      if connection.insecureSkipTLSVerify { tls.certificateVerification = .none }
      if let pem = connection.certificateAuthorityPEM {
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(pem))
      }
      if case .clientCertificate(let certificate, let key) = connection.authentication {
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
      }
    } catch {
      throw KubernetesError(.invalidCredentials, "unusable TLS material for \(connection.server): \(error)")
    }
    return tls
  }

  public func shutdown() async {
    let running = http.withLock { state -> HTTPClient? in
      defer { state = .shutDown }
      if case .running(let client) = state { return client }
      return nil
    }
    try? await running?.shutdown()
  }

  /// `/apis/cunicu.li/v1/namespaces/NAMESPACE/signalingenvelopes`.
  public static func collectionPath(namespace: String) -> String {
    "/apis/\(SignalingEnvelopeObject.apiVersion)/namespaces/\(namespace)/\(SignalingEnvelopeObject.plural)"
  }

  /// Creates `object` and returns it as the server stored it (name, uid, resourceVersion).
  public func create(_ object: SignalingEnvelopeObject, namespace: String) async throws(KubernetesError) -> SignalingEnvelopeObject {
    let body: Data
    do { body = try JSONEncoder().encode(object) } catch {
      throw KubernetesError(.invalidObject, "cannot encode the object: \(error)")
    }
    let data = try await send(.POST, Self.collectionPath(namespace: namespace), body: body, expect: [201, 200])
    return try decode(SignalingEnvelopeObject.self, data, "create")
  }

  /// Every envelope of the namespace, and the resource version to watch from.
  public func list(namespace: String) async throws(KubernetesError) -> SignalingEnvelopeList {
    let data = try await send(.GET, Self.collectionPath(namespace: namespace), expect: [200])
    return try decode(SignalingEnvelopeList.self, data, "list")
  }

  /// Deletes one envelope; `false` if it was already gone.
  @discardableResult
  public func delete(name: String, namespace: String) async throws(KubernetesError) -> Bool {
    do {
      _ = try await send(.DELETE, "\(Self.collectionPath(namespace: namespace))/\(name)", expect: [200, 202])
      return true
    } catch where error.status == 404 {
      return false
    }
  }

  /// Watches the namespace from `resourceVersion`, with bookmarks, handing each event to `handle`
  /// in order; returns when the server ends the stream (after about `timeout`) or `handle` returns
  /// `false`.
  public func watch(
    namespace: String, resourceVersion: String, timeout: Duration,
    _ handle: (WatchEvent) async throws(KubernetesError) -> Bool
  ) async throws(KubernetesError) {
    let seconds = max(1, Int(timeout.components.seconds))
    let query = "watch=true&allowWatchBookmarks=true&resourceVersion=\(resourceVersion)&timeoutSeconds=\(seconds)"
    let path = "\(Self.collectionPath(namespace: namespace))?\(query)"
    let response = try await start(.GET, path, body: nil)
    guard response.status.code == 200 else {
      throw await failure(response, "watch")
    }
    var line = ByteBuffer()
    do {
      for try await chunk in response.body {
        var chunk = chunk
        while let newline = chunk.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
          let length = newline - chunk.readerIndex
          var piece = chunk.readSlice(length: length)!
          chunk.moveReaderIndex(forwardBy: 1)
          line.writeBuffer(&piece)
          defer { line.clear() }
          if line.readableBytes == 0 { continue }
          guard try await handle(try WatchEvent(json: line.readableBytesView)) else { return }
        }
        line.writeBuffer(&chunk)
        guard line.readableBytes <= Self.maximumEventSize else {
          throw KubernetesError(.invalidResponse, "a watch event over \(Self.maximumEventSize) bytes")
        }
      }
    } catch let error as KubernetesError {
      throw error
    } catch is CancellationError {
      return
    } catch {
      if Task.isCancelled { return }
      throw KubernetesError(.interrupted, "the watch on \(connection.server) broke: \(error)")
    }
    if line.readableBytes > 0, try await handle(try WatchEvent(json: line.readableBytesView)) == false { return }
  }

  static let maximumEventSize = 4 << 20
  static let maximumResponseSize = 64 << 20

  private func send(
    _ method: HTTPMethod, _ path: String, body: Data? = nil, expect: Set<UInt>
  ) async throws(KubernetesError) -> ByteBuffer {
    let response = try await start(method, path, body: body)
    guard expect.contains(response.status.code) else { throw await failure(response, "\(method) \(path)") }
    do { return try await response.body.collect(upTo: Self.maximumResponseSize) } catch {
      throw KubernetesError(.unreachable, "reading the answer to \(method) \(path) failed: \(error)")
    }
  }

  private func start(_ method: HTTPMethod, _ path: String, body: Data?) async throws(KubernetesError) -> HTTPClientResponse {
    var request = HTTPClientRequest(url: connection.server + path)
    request.method = method
    request.headers.add(name: "Accept", value: "application/json")
    request.headers.add(name: "User-Agent", value: "warren")
    if let authorization = try connection.authorizationHeader() {
      request.headers.add(name: "Authorization", value: authorization)
    }
    if let body {
      request.headers.add(name: "Content-Type", value: "application/json")
      request.body = .bytes(ByteBuffer(bytes: body))
    }
    let timeout = TimeAmount.nanoseconds(Int64(requestTimeout.components.seconds) * 1_000_000_000)
    let http = try client()
    do {
      return try await http.execute(request, timeout: timeout)
    } catch {
      throw KubernetesError(.unreachable, "cannot reach the API server \(connection.server): \(error)")
    }
  }

  /// The error for a response that is not what was asked for, from its `Status` body if it has one.
  private func failure(_ response: HTTPClientResponse, _ what: String) async -> KubernetesError {
    let code = Int(response.status.code)
    let body = try? await response.body.collect(upTo: 1 << 20)
    let status = body.flatMap { try? JSONDecoder().decode(APIStatus.self, from: Data($0.readableBytesView)) }
    let reason = status?.reason.map { " \($0)" } ?? " \(response.status.reasonPhrase)"
    let message = status?.message.map { ": \($0)" } ?? ""
    return KubernetesError(.apiError, "\(what) on \(connection.server): \(code)\(reason)\(message)", status: code)
  }

  private func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer, _ what: String) throws(KubernetesError) -> T {
    do { return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView)) } catch {
      throw KubernetesError(.invalidResponse, "the answer to \(what) is not what the Kubernetes API sends: \(error)")
    }
  }
}

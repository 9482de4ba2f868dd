public import Logging
public import WarrenCrypto

/// Builds signaling backends from URLs (session.md: backends are chosen by URL scheme). Knows
/// `inprocess:` itself; other modules register their schemes (`grpc`, `k8s`, `multicast`).
///
/// Several URLs make a multi-backend whose transports share one registry.
public struct BackendFactory: Sendable {
  /// Builds the transport for one URL, delivering what it receives to `sink`.
  public typealias TransportMaker =
    @Sendable (_ url: BackendURL, _ sink: any EnvelopeSink, _ logger: Logger) throws -> any EnvelopeTransport

  /// Asks the relay registry at a URL for the relays it hands to a key (`grpc://…` in the ICE
  /// URL list), giving up after a timeout.
  public typealias RelayRegistry = @Sendable (_ url: BackendURL, _ key: PrivateKey, _ timeout: Duration) async throws -> [RegisteredRelay]

  /// The hub that `inprocess:` backends of this factory share.
  public let hub: InProcessHub
  private let sealer: EnvelopeSealer
  private let logger: Logger
  private var makers: [String: TransportMaker] = [:]
  private var relayRegistries: [String: RelayRegistry] = [:]

  public init(hub: InProcessHub = InProcessHub(), sealer: EnvelopeSealer = EnvelopeSealer(), logger: Logger) {
    self.hub = hub
    self.sealer = sealer
    self.logger = logger
    register(scheme: "inprocess") { url, sink, _ in
      try url.checkParameters([])
      return InProcessTransport(hub: hub, sink: sink)
    }
  }

  /// Makes `scheme` (without the colon) build transports with `maker`.
  public mutating func register(scheme: String, _ maker: @escaping TransportMaker) {
    makers[scheme.lowercased()] = maker
  }

  /// Makes `scheme` URLs in the ICE URL list name relay registries asked with `registry`.
  public mutating func register(relayRegistryScheme scheme: String, _ registry: @escaping RelayRegistry) {
    relayRegistries[scheme.lowercased()] = registry
  }

  /// The relays the registry at `url` hands to `key` (whose holder may have to prove it holds it).
  public func relays(from url: String, for key: PrivateKey, timeout: Duration = .seconds(5)) async throws -> [RegisteredRelay] {
    let url = try BackendURL(url)
    guard let registry = relayRegistries[url.scheme] else {
      throw SignalingError(
        .unknownScheme,
        "no relay registry for scheme '\(url.scheme)' in \(url) (known: \(relayRegistries.keys.sorted().map { "\($0):" }.joined(separator: ", ")))")
    }
    return try await registry(url, key, timeout)
  }

  /// The schemes this factory can build.
  public var schemes: [String] { makers.keys.sorted() }

  /// A backend for one URL.
  public func makeBackend(url: String) throws -> TransportBackend {
    try makeBackend(urls: [url])
  }

  /// A backend for one URL, or a multi-backend for several.
  public func makeBackend(urls: [String]) throws -> TransportBackend {
    guard !urls.isEmpty else { throw SignalingError(.invalidURL, "no signaling backend URL given") }
    let registry = SubscriptionRegistry(sealer: sealer, logger: logger)
    let transports = try urls.map { try makeTransport(BackendURL($0), sink: registry) }
    let transport = transports.count == 1 ? transports[0] : MultiTransport(transports, logger: logger)
    return TransportBackend(transport: transport, registry: registry, sealer: sealer, logger: logger)
  }

  private func makeTransport(_ url: BackendURL, sink: any EnvelopeSink) throws -> any EnvelopeTransport {
    guard let maker = makers[url.scheme] else {
      throw SignalingError(
        .unknownScheme,
        "no signaling backend for scheme '\(url.scheme)' in \(url) (known: \(schemes.map { "\($0):" }.joined(separator: ", ")))")
    }
    var logger = logger
    logger[metadataKey: "backend"] = "\(url.scheme)"
    return try maker(url, sink, logger)
  }
}

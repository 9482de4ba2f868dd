internal import GRPCCore
internal import GRPCNIOTransportHTTP2

/// The replicas of one clustered signaling server (`grpc://a:8080,b:8080`), as a gRPC target:
/// each resolution resolves every replica's name (as gRPC's DNS resolver does) and hands the
/// channel all their addresses as one endpoint, which the pick-first policy shuffles and tries in
/// turn. A replica whose name does not resolve is left out; none resolving is an error.
struct ReplicaList: ResolvableTarget, Sendable {
  var replicas: [GRPCEndpoint.Replica]

  struct ResolverFactory: NameResolverFactory {
    func resolver(for target: ReplicaList) -> NameResolver {
      let first = target.replicas[0]
      return NameResolver(
        names: RPCAsyncSequence(wrapping: Addresses(replicas: target.replicas)), updateMode: .pull,
        authority: "\(first.host):\(first.port)")
    }
  }

  /// Every replica's addresses, resolved again at each pull (after a connection failed).
  struct Addresses: AsyncSequence, Sendable {
    typealias Element = NameResolutionResult
    let replicas: [GRPCEndpoint.Replica]

    func makeAsyncIterator() -> Iterator { Iterator(replicas: replicas) }

    struct Iterator: AsyncIteratorProtocol {
      let replicas: [GRPCEndpoint.Replica]

      func next() async throws -> NameResolutionResult? {
        var addresses: [SocketAddress] = []
        var unresolved: [String] = []
        for replica in replicas {
          var names = NameResolvers.DNS().resolver(for: .dns(host: replica.host, port: replica.port)).names.makeAsyncIterator()
          do {
            addresses += try await names.next()?.endpoints.flatMap(\.addresses) ?? []
          } catch {
            unresolved.append("\(replica.host):\(replica.port)")
          }
        }
        guard !addresses.isEmpty else {
          throw RPCError(code: .unavailable, message: "no replica's address resolved: \(unresolved.joined(separator: ", "))")
        }
        return NameResolutionResult(endpoints: [Endpoint(addresses: addresses)], serviceConfig: nil)
      }
    }
  }
}

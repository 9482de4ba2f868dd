import Foundation
import Logging
import WarrenCrypto
import WarrenGRPC
import WarrenSignaling

/// `FailoverClients URL COUNT [SPREAD_MS]`: COUNT Warren `grpc://` backends, each a client of its
/// own (as COUNT daemons would be) with the replica list of URL, each subscribed to a key of its
/// own. Prints `ready COUNT` once every subscription has its marker, then holds them until
/// standard input closes. A replica killed meanwhile moves its clients as `warren up` would
/// (ReplicaFailover, with SPREAD_MS as the hand-over window). For Benchmarks/cluster-failover.sh.
@main
struct FailoverClients {
  static func main() async throws {
    let arguments = CommandLine.arguments
    guard arguments.count >= 3, let count = Int(arguments[2]) else {
      FileHandle.standardError.write(Data("usage: FailoverClients URL COUNT [SPREAD_MS]\n".utf8))
      exit(2)
    }
    let spread = arguments.count > 3 ? Duration.milliseconds(Int(arguments[3]) ?? 2000) : ReplicaFailover.defaultHandoverSpread
    var logger = Logger(label: "failover-clients")
    logger.logLevel = .error
    var factory = BackendFactory(logger: logger)
    factory.registerGRPC(handoverSpread: spread)
    let backends = try (0..<count).map { _ in try factory.makeBackend(url: arguments[1]) }
    // Subscribed 100 at a time: a whole mesh starting at once is not what this measures.
    var subscriptions: [SignalingSubscription] = []
    for start in stride(from: 0, to: count, by: 100) {
      let batch = try await withThrowingTaskGroup(of: SignalingSubscription.self) { group in
        for backend in backends[start..<min(start + 100, count)] {
          group.addTask { try await backend.subscribeAll(PrivateKey.generate()) }
        }
        var made: [SignalingSubscription] = []
        while let subscription = try await group.next() { made.append(subscription) }
        return made
      }
      subscriptions += batch
    }
    FileHandle.standardOutput.write(Data("ready \(subscriptions.count)\n".utf8))
    while readLine() != nil {}
    withExtendedLifetime(subscriptions) {}
  }
}

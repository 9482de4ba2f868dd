internal import Logging
internal import NIOCore
internal import Synchronization
public import WarrenICE
public import WarrenPrimitives
internal import WarrenSTUN

/// Server-reflexive gathering (RFC 8445 §5.1.1.2): a Binding request (RFC 8489 §5) to a STUN
/// server from each host socket; the answers never reach the agent.
extension ICEDriver {
  /// Asks the STUN server at `server` for the public address of each host socket of the same
  /// address family (a Binding request, RFC 8489 §5), and adds each answer that differs from the
  /// host address as a server-reflexive candidate (RFC 8445 §5.1.1.2). A server that does not
  /// answer within `attempts` × `timeout` is logged and yields nothing. `bases`: only the host
  /// sockets on these addresses (all when `nil`).
  public func gatherServerReflexive(
    server: TransportAddress, bases: Set<TransportAddress.IP>? = nil, timeout: Duration = .milliseconds(500), attempts: Int = 3
  ) async -> [Candidate] {
    let hosts = state.withLock { state in
      let destination = state.destination(server)
      return state.channels.filter { $0.key.ip.isIPv4 == server.ip.isIPv4 && (bases?.contains($0.key.ip) ?? true) }.map { base, channel in
        // The host candidate's local preference (its address's rank, RFC 8421 §4) carries over.
        let host = state.agent.localCandidates.first { $0.type == .host && $0.address == base }
        let outbound = destination.map { Outbound(channel: channel, sender: state.senders[base], remote: server, destination: $0) }
        return (base, outbound, host.map { ($0.priority >> 8) & 0xffff } ?? 65535)
      }
    }
    var candidates: [Candidate] = []
    for (base, outbound, localPreference) in hosts {
      var mapped: TransportAddress?
      for _ in 0..<attempts where mapped == nil && !isClosed {
        mapped = await binding(from: outbound, timeout: timeout)
      }
      if isClosed { return candidates }
      guard let mapped else {
        logger.warning("STUN server did not answer; no server-reflexive candidate", metadata: ["server": "\(server)", "base": "\(base)"])
        continue
      }
      let candidate = Candidate(type: .serverReflexive, address: mapped, base: base, localPreference: localPreference, server: "\(server)")
      if mapped != base { addLocalCandidate(candidate) }
      candidates.append(candidate)
    }
    return candidates
  }

  private func binding(from outbound: Outbound?, timeout: Duration) async -> TransportAddress? {
    var random = SystemRandomNumberGenerator()
    let request = STUNMessage(type: .init(.binding, .request), transactionID: .random(using: &random))
    guard let outbound else { return nil }
    return await withTaskGroup(of: TransportAddress?.self) { group in
      group.addTask {
        await withCheckedContinuation { continuation in
          self.pendingBindings.withLock { $0[request.transactionID] = continuation }
          self.send(ByteBuffer(bytes: request.encoded(fingerprint: true)), outbound)
        }
      }
      group.addTask {
        try? await self.clock.sleep(until: self.clock.now + timeout, tolerance: nil)
        self.pendingBindings.withLock { $0.removeValue(forKey: request.transactionID) }?.resume(returning: nil)
        return nil
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      return first
    }
  }
}

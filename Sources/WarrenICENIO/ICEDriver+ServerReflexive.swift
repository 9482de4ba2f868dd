internal import Logging
internal import NIOCore
public import WarrenICE
public import WarrenPrimitives
internal import WarrenSTUN
internal import WarrenICEEndpoint

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
        let host = state.endpoint.agent.localCandidates.first { $0.type == .host && $0.address == base }
        let outbound = destination.map { Outbound(channel: channel, sender: state.senders[base], remote: server, destination: $0) }
        return (base, outbound, host.map { ($0.priority >> 8) & 0xffff } ?? 65535)
      }
    }
    // Every host socket at once, in the order of the host candidates.
    return await withTaskGroup(of: (Int, Candidate?).self) { group in
      for (index, (base, outbound, localPreference)) in hosts.enumerated() {
        group.addTask {
          var mapped: TransportAddress?
          for _ in 0..<attempts where mapped == nil && !self.isClosed {
            mapped = await self.binding(from: outbound, timeout: timeout)
          }
          if self.isClosed { return (index, nil) }
          guard let mapped else {
            self.logger.warning("STUN server did not answer; no server-reflexive candidate", metadata: ["server": "\(server)", "base": "\(base)"])
            return (index, nil)
          }
          let candidate = Candidate(type: .serverReflexive, address: mapped, base: base, localPreference: localPreference, server: "\(server)")
          if mapped != base { self.addLocalCandidate(candidate) }
          return (index, candidate)
        }
      }
      var found: [(Int, Candidate)] = []
      for await (index, candidate) in group { if let candidate { found.append((index, candidate)) } }
      return found.sorted { $0.0 < $1.0 }.map(\.1)
    }
  }

  private func binding(from outbound: Outbound?, timeout: Duration) async -> TransportAddress? {
    var random = SystemRandomNumberGenerator()
    let request = STUNMessage(type: .init(.binding, .request), transactionID: .random(using: &random))
    guard let outbound else { return nil }
    return await answerOrTimeout(
      within: timeout, on: clock,
      expire: { self.pendingBindings.answer(request.transactionID, with: nil) }
    ) {
      await self.pendingBindings.wait(for: request.transactionID, busy: nil) {
        self.send(ByteBuffer(bytes: request.encoded(fingerprint: true)), outbound)
      }
    }
  }
}

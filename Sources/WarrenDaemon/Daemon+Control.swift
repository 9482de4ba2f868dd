internal import Logging
internal import WarrenCrypto
internal import WarrenDiscovery
internal import WarrenICE
internal import WarrenICENIO
internal import WarrenSession
internal import WarrenWireGuard

/// The control socket's requests (docs/control.md): `status` and `ping`.
extension Daemon {
  func handle(_ request: ControlRequest, reply: ControlReplyWriter) async throws {
    switch request.command {
    case .status:
      // WireGuard's counters and handshake as of now, not as of the last poll.
      for interface in configuration.wireguard.interfaces { _ = try? await readInterface(interface) }
      try await reply.send(statusReport())
    case .ping:
      try await ping(request, reply: reply)
    }
  }

  /// Every peer's state, path and counters.
  public func statusReport() -> StatusReport {
    let now = clock.now
    let entries = peers.all
    let devices = interfaces.readings
    let dataPaths = dataPaths.choices
    return StatusReport(
      publicKey: configuration.privateKey.map { "\($0.publicKey)" },
      peers: entries.map { entry in
        var report = PeerReport(peer: entry.peer, link: entry.link, now: now)
        if let interface = entry.interface {
          report.interface = interface
          report.wireguard = devices[interface]?.peers.first { $0.publicKey == entry.peer.publicKey }.map(WireGuardPeerReport.init)
          report.dataPath = dataPaths[entry.peer.name].map { "\($0.path)" }
          report.dataPathReason = dataPaths[entry.peer.name]?.reason
        } else {
          report.dataPath = "\(DataPath.userspace)"
        }
        return report
      },
      discovery: discoveries.isEmpty ? nil : discoveries.keys.sorted().map { discoveryReport(discoveries[$0]!.snapshot, now: now) })
  }

  private func discoveryReport(_ snapshot: DiscoveryRunner.Snapshot, now: ContinuousClock.Instant) -> DiscoveryReport {
    DiscoveryReport(
      interface: snapshot.interface, community: snapshot.community.map { "\($0)" }, heardFromCommunity: snapshot.heardFromCommunity,
      learned: snapshot.learned.map { peer in
        let ago = (now - peer.lastAnnounced).components
        return DiscoveryReport.LearnedPeer(
          name: peer.name, publicKey: "\(peer.key)", allowedIps: peer.allowedIPs.map(\.description),
          lastAnnouncedSecondsAgo: Double(ago.seconds) + Double(ago.attoseconds) / 1e18, learnedFrom: configuration.backends.joined(separator: ", "))
      },
      refusals: Dictionary(uniqueKeysWithValues: snapshot.refusals.map { ($0.key.rawValue, $0.value) }), problem: snapshot.problem)
  }

  func ping(_ request: ControlRequest, reply: ControlReplyWriter) async throws {
    guard let name = request.peer, !name.isEmpty else { throw ControlFailure("ping needs a peer (its name or public key)") }
    guard let (peer, link) = peer(named: name) else {
      let known = peers.names
      throw ControlFailure("no peer named '\(name)' (configured: \(known.joined(separator: ", ")))")
    }
    let count = request.count ?? 5
    let interval = Duration.milliseconds(request.intervalMs ?? 1000)
    let timeout = Duration.milliseconds(request.timeoutMs ?? 2000)
    guard (1...1000).contains(count) else { throw ControlFailure("count must be between 1 and 1000, got \(count)") }
    guard interval >= .milliseconds(10) else { throw ControlFailure("interval must be at least 10 ms") }
    guard (.milliseconds(10) ... .seconds(60)).contains(timeout) else { throw ControlFailure("timeout must be between 10 ms and 60 s") }
    for seq in 1...count {
      let started = clock.now
      let answer: PingReply
      switch await link.probe(timeout: timeout) {
      case .answered(let rtt, let pair):
        answer = PingReply(
          seq: seq, peer: peer.name, result: .answered, rttMs: rtt.milliseconds, path: "\(pair.path)",
          remote: "\(pair.remote.type) \(pair.remote.address)")
      case .lost:
        answer = PingReply(seq: seq, peer: peer.name, result: .lost)
      case .noPath:
        answer = PingReply(seq: seq, peer: peer.name, result: .noPath)
      }
      try await reply.send(answer)
      if seq < count { try await clock.sleep(until: started + interval, tolerance: nil) }
    }
  }
}

extension PeerReport {
  init(peer: DaemonConfiguration.Peer, link: PeerLink, now: ContinuousClock.Instant) {
    let status = link.status
    let pair = status.selectedPair
    self.init(
      name: peer.name, publicKey: "\(peer.publicKey)", state: "\(status.state)", role: "\(status.role)",
      path: pair.map { "\($0.path)" },
      local: pair.map { Endpoint(type: "\($0.local.type)", address: "\($0.local.base)") },
      remote: pair.map { Endpoint(type: "\($0.remote.type)", address: "\($0.remote.address)") },
      rttMs: status.roundTripTime?.milliseconds, restarts: status.restarts,
      restartCauses: RestartCounts(status.restartCauses), droppedMessages: DroppedMessageCounts(status.droppedMessages),
      secondsInState: status.since.map { (now - $0).seconds }, secondsSinceSignal: status.lastSignal.map { (now - $0).seconds },
      pathSwitches: status.pathSwitches,
      secondsSinceSwitch: status.lastSwitch.map { (now - $0).seconds }, listen: link.listenAddress.map { "\($0)" },
      forward: "\(peer.forward)",
      packetsSent: status.proxy.packetsToPeer, bytesSent: status.proxy.bytesToPeer, packetsReceived: status.proxy.packetsToApplication,
      bytesReceived: status.proxy.bytesToApplication, droppedNoPath: status.proxy.droppedNoPath)
  }
}

extension Duration {
  /// Seconds, to the microsecond (reports need no more, and JSON stays readable).
  var seconds: Double { ((Double(components.seconds) + Double(components.attoseconds) / 1e18) * 1e6).rounded() / 1e6 }
  /// Milliseconds, to the microsecond.
  var milliseconds: Double { (seconds * 1e6).rounded() / 1e3 }
}

internal import WarrenPrimitives
internal import WarrenCrypto

/// A peer's link, run by a child task of ``Daemon/run()`` until ``stop`` is finished.
struct RunningPeer: Sendable {
  let peer: DaemonConfiguration.Peer
  let link: PeerLink
  /// The WireGuard interface the peer belongs to; `nil` for peers of the configuration file.
  let interface: String?
  /// Finishing it stops the peer's task.
  let stop: AsyncStream<Never>.Continuation
  let stopped: AsyncStream<Never>
  /// Finishes once the peer's task has closed the link.
  let done: AsyncStream<Never>
  let doneSink: AsyncStream<Never>.Continuation

  init(peer: DaemonConfiguration.Peer, link: PeerLink, interface: String?) {
    self.peer = peer
    self.link = link
    self.interface = interface
    (stopped, stop) = AsyncStream.makeStream()
    (done, doneSink) = AsyncStream.makeStream()
  }
}

/// The daemon's running peers, by name, and the stream that hands each new one to the task group
/// that runs it. The one owner of that table: adding, removing and closing happen under one lock,
/// so a peer added while the daemon shuts down is either refused or stopped with the others, never
/// left running.
final class RunningPeers: Sendable {
  private struct State {
    var byName: [String: RunningPeer] = [:]
    var closed = false
  }

  private let state = Locked(State())
  /// Peers to run, in the order they were added; finishes at ``close()``.
  let launches: AsyncStream<RunningPeer>
  private let launchSink: AsyncStream<RunningPeer>.Continuation

  init() {
    (launches, launchSink) = AsyncStream.makeStream()
  }

  /// Adds `entry` (replacing nothing: stop a peer of the same name first) and hands it to
  /// ``launches``; `false` once closed.
  func add(_ entry: RunningPeer) -> Bool {
    state.withLock { state in
      guard !state.closed else { return false }
      state.byName[entry.peer.name] = entry
      launchSink.yield(entry)
      return true
    }
  }

  var isClosed: Bool { state.withLock { $0.closed } }

  /// Takes the peer out of the table; its task is stopped by the caller.
  func remove(_ name: String) -> RunningPeer? {
    state.withLock { $0.byName.removeValue(forKey: name) }
  }

  /// Refuses new peers from now on; returns the names of those still running.
  func close() -> [String] {
    state.withLock { state in
      state.closed = true
      launchSink.finish()
      return state.byName.keys.sorted()
    }
  }

  /// Every running peer, by name.
  var all: [RunningPeer] { state.withLock { $0.byName.values.sorted { $0.peer.name < $1.peer.name } } }

  var names: [String] { state.withLock { $0.byName.keys.sorted() } }

  /// The peers of `interface` (`nil`: the configuration file's).
  func on(_ interface: String?) -> [RunningPeer] { all.filter { $0.interface == interface } }

  /// The peer named `nameOrKey`, or whose public key that is.
  func named(_ nameOrKey: String) -> RunningPeer? {
    state.withLock { state in state.byName[nameOrKey] ?? state.byName.values.first { "\($0.peer.publicKey)" == nameOrKey } }
  }
}

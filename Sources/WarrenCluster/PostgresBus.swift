public import Logging
internal import NIOCore
internal import NIOSSL
internal import PostgresNIO
internal import SwiftProtobuf
internal import WarrenCrypto
public import WarrenPrimitives
public import WarrenSignalServer
public import WarrenSignaling
public import WarrenWire

/// The cluster bus on PostgreSQL `LISTEN`/`NOTIFY` (docs/cluster.md): one connection per
/// replica, listening on one shared channel; every envelope published on this replica is
/// notified there, and every notification from another replica is delivered to this replica's
/// subscribers. A lost connection is made again with back-off, and `LISTEN` with it. Envelopes too
/// large for a notification wait in the table `warren_signal_spill`: unlogged (nothing of it
/// needs to survive a crash) and swept by its writers.
public final class PostgresBus: ClusterBus {
  public struct Settings: Sendable {
    public var url: ClusterURL
    public var password: String?
    public var backoff = ReconnectBackoff(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(5))
    /// Envelopes waiting to be sent before the newest are dropped (counted).
    public var queueLimit = 8192
    /// How long a spilled envelope's row is kept for the other replicas to read.
    public var spillRetention: Duration = .seconds(60)
    /// How long one envelope's send may take before its connection is given up (closed, and made
    /// again by the receiving loop) and the envelope counted as dropped.
    public var sendTimeout: Duration = .seconds(5)

    public init(url: ClusterURL, password: String?) {
      self.url = url
      self.password = password
    }
  }

  /// This replica on the bus: random per process, so a restarted replica is a new one.
  public let replicaID: UInt64
  private let clock: any MonotonicClock
  private let settings: Settings
  private let relay: SignalingRelay
  private let logger: Logger
  /// PostgresNIO's own logs, at warning and above: its debug output is per query.
  private let postgresLogger: Logger
  private let outbound: AsyncStream<Cunicu_Signaling_Envelope>
  private let continuation: AsyncStream<Cunicu_Signaling_Envelope>.Continuation
  private let state = Locked(State())

  private struct State {
    var connection: PostgresConnection?
    var statistics = ClusterStatistics()
    var lastSweep: ContinuousClock.Instant?
  }

  public init(settings: Settings, relay: SignalingRelay, logger: Logger, clock: any MonotonicClock = ContinuousClock()) {
    self.clock = clock
    self.settings = settings
    self.relay = relay
    var random = SystemRandomNumberGenerator()
    replicaID = random.next()
    var logger = logger
    logger[metadataKey: "replica"] = "\(String(replicaID, radix: 16))"
    self.logger = logger
    var postgresLogger = logger
    postgresLogger.logLevel = max(logger.logLevel, .warning)
    self.postgresLogger = postgresLogger
    (outbound, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(settings.queueLimit))
  }

  /// How to reach PostgreSQL; throws if TLS cannot be set up (no trust roots, an unreadable
  /// `sslrootcert`), which the connection loop reports like any failure to connect.
  private func connectionConfiguration() throws -> PostgresConnection.Configuration {
    let rootCertificates = settings.url.rootCertificates
    func context() throws -> NIOSSLContext {
      var client = TLSConfiguration.makeClientConfiguration()
      if let rootCertificates { client.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificates)) }
      return try NIOSSLContext(configuration: client)
    }
    let tls: PostgresConnection.Configuration.TLS =
      switch settings.url.tls {
      case .disable: .disable
      case .prefer: .prefer(try context())
      case .require: .require(try context())
      }
    return PostgresConnection.Configuration(
      host: settings.url.host, port: settings.url.port, username: settings.url.user, password: settings.password,
      database: settings.url.database, tls: tls)
  }

  public var isConnected: Bool { state.withLock { $0.connection != nil } }

  public var statistics: ClusterStatistics { state.withLock { $0.statistics } }

  public func forward(_ envelope: Cunicu_Signaling_Envelope, size: Int) {
    let connected = state.withLock { state in
      if state.connection == nil { state.statistics.droppedDisconnected += 1 }
      return state.connection != nil
    }
    guard connected else { return }
    if case .dropped = continuation.yield(envelope) {
      state.withLock { $0.statistics.droppedQueueFull += 1 }
    }
  }

  public func run() async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.sendEach() }
      group.addTask { await self.stayConnected() }
      // Both run until cancelled.
      await group.next()
      group.cancelAll()
    }
    continuation.finish()
  }

  // MARK: - Receiving

  /// Connects, creates the spill table if needed, `LISTEN`s and delivers notifications until the
  /// connection is lost; then again after the back-off.
  private func stayConnected() async {
    var failures = 0
    var attempt = 0
    while !Task.isCancelled {
      attempt += 1
      var opened: PostgresConnection?
      do {
        let connection = try await PostgresConnection.connect(configuration: try connectionConfiguration(), id: attempt, logger: postgresLogger)
        opened = connection
        do {
          try await connection.query(
            "CREATE UNLOGGED TABLE IF NOT EXISTS warren_signal_spill (id bigserial PRIMARY KEY, payload bytea NOT NULL, created timestamptz NOT NULL DEFAULT now())",
            logger: postgresLogger)
        } catch {
          // Replicas starting together race to create it; one wins. Sending a large envelope says
          // so if none did.
          logger.debug("creating the spill table failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        try await withTaskCancellationHandler {
          try await connection.listen(on: settings.url.channel) { notifications in
            let connections = state.withLock { state in
              state.connection = connection
              state.statistics.connected = true
              state.statistics.connections += 1
              return state.statistics.connections
            }
            logger.notice(
              connections == 1 ? "cluster bus listening" : "cluster bus listening again",
              metadata: ["postgres": "\(settings.url)", "after_failures": "\(failures)"])
            failures = 0
            for try await notification in notifications {
              await receive(notification.payload, over: connection)
            }
          }
        } onCancel: {
          connection.close().whenComplete { _ in }
        }
      } catch {
        // The first failure of a series, then about once a minute at the longest back-off.
        if !Task.isCancelled {
          logger.log(
            level: failures % 12 == 0 ? .warning : .debug,
            "cluster bus down: serving this replica's subscribers only until it is back",
            metadata: ["postgres": "\(settings.url)", "attempt": "\(failures + 1)", "error": "\(String(reflecting: error))"])
        }
      }
      state.withLock { state in
        state.connection = nil
        state.statistics.connected = false
      }
      try? await opened?.close()
      guard !Task.isCancelled else { break }
      failures += 1
      try? await clock.sleep(until: clock.now + settings.backoff.delay(afterFailures: failures), tolerance: nil)
    }
  }

  private func receive(_ payload: String, over connection: PostgresConnection) async {
    let frame: BusFrame
    do {
      frame = try BusFrame(parsing: payload)
    } catch {
      malformed(error)
      return
    }
    // Our own notification: delivered here before it was sent.
    guard frame.origin != replicaID else { return }
    let bytes: [UInt8]
    switch frame.body {
    case .inline(let inline):
      bytes = inline
    case .spilled(let id):
      do {
        var row: [UInt8]?
        let rows = try await connection.query("SELECT payload FROM warren_signal_spill WHERE id = \(id)", logger: postgresLogger)
        for try await payload in rows.decode(ByteBuffer.self) { row = Array(payload.readableBytesView) }
        guard let row else { throw ClusterError(.malformedFrame, "spilled row \(id) is gone") }
        bytes = row
      } catch {
        malformed(error)
        return
      }
    }
    guard let envelope = try? Cunicu_Signaling_Envelope(serializedBytes: bytes), let recipient = try? Key(bytes: envelope.recipient)
    else {
      malformed(ClusterError(.malformedFrame, "the frame's envelope is not an Envelope with a 32-byte recipient"))
      return
    }
    let latency = Double(Int64(WallClock.unixNanoseconds / 1000) - frame.sentAtMicroseconds) / 1e6
    state.withLock { state in
      state.statistics.received += 1
      state.statistics.recordLatency(latency)
    }
    relay.deliverFromCluster(envelope, to: recipient)
  }

  private func malformed(_ error: any Error) {
    let count = state.withLock { state in
      state.statistics.malformed += 1
      return state.statistics.malformed
    }
    // The first of them, then every thousandth: a stranger on the channel must not flood the log.
    if count == 1 || count % 1000 == 0 {
      logger.warning("dropped a notification on the cluster channel", metadata: ["error": "\(error)", "count": "\(count)"])
    }
  }

  // MARK: - Sending

  /// Notifies each forwarded envelope, in order, over the current connection.
  private func sendEach() async {
    for await envelope in outbound {
      guard let connection = state.withLock({ $0.connection }) else {
        state.withLock { $0.statistics.droppedDisconnected += 1 }
        continue
      }
      do {
        let bytes: [UInt8] = try envelope.serializedBytes()
        let spilled = bytes.count > BusFrame.maxInlineEnvelopeBytes
        try await withDeadline(over: connection) { [self] in
          let now = Int64(WallClock.unixNanoseconds / 1000)
          let body: BusFrame.Body = spilled ? .spilled(try await spill(bytes, over: connection)) : .inline(bytes)
          let frame = BusFrame(origin: replicaID, sentAtMicroseconds: now, body: body)
          try await connection.query("SELECT pg_notify(\(settings.url.channel), \(frame.text))", logger: postgresLogger)
        }
        state.withLock { state in
          state.statistics.sent += 1
          if spilled { state.statistics.spilled += 1 }
        }
      } catch {
        state.withLock { $0.statistics.droppedDisconnected += 1 }
        logger.debug("sending on the cluster bus failed", metadata: ["error": "\(String(reflecting: error))"])
      }
    }
  }

  /// Runs one send over `connection`, giving up after ``Settings/sendTimeout``: the connection is
  /// then closed (which fails what waits on it; the receiving loop connects again) and this
  /// throws. Seen in CI: after a PostgreSQL restart under load, one `pg_notify` never returned
  /// and every envelope after it waited behind it (700 of them) while the replica said it was
  /// ready. The send is not awaited once the deadline passed: a query that never returns cannot
  /// hold the sender.
  private func withDeadline(over connection: PostgresConnection, _ send: @escaping @Sendable () async throws -> Void) async throws {
    let settled = Locked(false)
    let timeout = settings.sendTimeout
    try await withCheckedThrowingContinuation { (outcome: CheckedContinuation<Void, any Error>) in
      func settle(_ result: Result<Void, any Error>) -> Bool {
        let first = settled.withLock { done in
          defer { done = true }
          return !done
        }
        if first { outcome.resume(with: result) }
        return first
      }
      let deadline = Task { [clock, logger] in
        do {
          try await clock.sleep(until: clock.now + timeout, tolerance: nil)
        } catch {
          return  // the send finished first
        }
        guard settle(.failure(ClusterError(.sendTimedOut, "a send on the cluster bus took longer than \(timeout)"))) else { return }
        logger.warning("a send on the cluster bus did not finish in \(timeout); closing that connection to make a new one")
        try? await connection.close()
      }
      Task {
        let result: Result<Void, any Error>
        do {
          try await send()
          result = .success(())
        } catch {
          result = .failure(error)
        }
        if settle(result) { deadline.cancel() }
      }
    }
  }

  /// Stores an envelope too large for a notification; returns its row id. Sweeps rows older
  /// than the retention at most once per retention period.
  private func spill(_ bytes: [UInt8], over connection: PostgresConnection) async throws -> Int64 {
    var id: Int64?
    let rows = try await connection.query(
      "INSERT INTO warren_signal_spill (payload) VALUES (\(ByteBuffer(bytes: bytes))) RETURNING id", logger: postgresLogger)
    for try await value in rows.decode(Int64.self) { id = value }
    guard let id else { throw ClusterError(.malformedFrame, "the spill table returned no id") }
    let now = clock.now
    let sweep = state.withLock { state in
      guard state.lastSweep.map({ now - $0 >= settings.spillRetention }) ?? true else { return false }
      state.lastSweep = now
      return true
    }
    if sweep {
      let seconds = Double(settings.spillRetention.components.seconds)
      try await connection.query(
        "DELETE FROM warren_signal_spill WHERE created < now() - make_interval(secs => \(seconds))", logger: postgresLogger)
    }
    return id
  }
}

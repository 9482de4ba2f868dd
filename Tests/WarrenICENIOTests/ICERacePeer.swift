import Foundation
import Logging
import Testing
import WarrenICE
import WarrenICENIO
import WarrenPrimitives
import WarrenTestSupport

/// Warren's agent as one side of the ICE race across NATs (Interop/netns/two-nat.sh, step 9),
/// next to the same harness for libnice and aioice (Interop/netns/race). `$WARREN_RACE` holds the
/// arguments they take on their command line:
///
///     DIR SELF PEER controlling|controlled LOCAL_IP STUN_IP STUN_PORT TURN_IP TURN_PORT USER PASSWORD
///
/// Gathers host, server-reflexive and relayed candidates, writes DIR/SELF (lines `ufrag U`,
/// `pwd P`, `candidate TYPE IP PORT PRIORITY FOUNDATION`), waits for DIR/PEER and starts its checks
/// at once. The controlling side reports the time from reading the peer's description to the
/// first selected pair and to the first datagram the peer echoes (it sends a numbered "probe"
/// every 5 ms once a pair is selected), then writes DIR/done; the controlled side echoes every
/// datagram until DIR/done appears. `$WARREN_RACE_RELAY_DELAY_MS` sets `relayNominationDelay`.
/// `$WARREN_RACE_HOLD_MS` keeps the controlling side probing (200/s) that long after the first
/// echo, and reports the probes sent after the first echo, how many of them came back, pair
/// switches, the final pair and whether the peer's echoes of the last second all came over it
/// (whether the peer followed a renomination).
@Suite("ICE race peer", .enabled(if: ProcessInfo.processInfo.environment["WARREN_RACE"] != nil))
struct ICERacePeer {
  /// "probe" and a 32-bit number.
  static func probe(_ number: UInt32) -> [UInt8] { Array("probe".utf8) + withUnsafeBytes(of: number.bigEndian, Array.init) }

  /// What the controlling side measures, from reading the peer's description.
  final class Outcome: Sendable {
    struct State {
      var connected: Duration?
      var echoed: Duration?
      var selected: [CandidatePair] = []
      /// The next probe's number; probes from `countedFrom` on (those sent after the first echo)
      /// must all come back.
      var nextProbe: UInt32 = 0
      var countedFrom: UInt32?
      var echoedProbes: Set<UInt32> = []
      /// Datagrams received per pair one second before the hold ends: what arrives after shows
      /// which pair the peer sends on at the end.
      var receivedBeforeEnd: [CandidatePair.ID: Int]?
    }
    let state = Locked(State())
  }

  @Test("race the other agent across the NATs", .timeLimit(.scaled(minutes: 1)))
  func race() async throws {
    let environment = ProcessInfo.processInfo.environment
    let arguments = environment["WARREN_RACE"]!.split(separator: " ").map(String.init)
    try #require(arguments.count == 11, "WARREN_RACE needs 11 arguments")
    let directory = URL(fileURLWithPath: arguments[0])
    let role: ICERole = arguments[3] == "controlled" ? .controlled : .controlling
    var configuration = ICEConfiguration()
    if let delay = environment["WARREN_RACE_RELAY_DELAY_MS"].flatMap(Int.init) {
      configuration.relayNominationDelay = .milliseconds(delay)
    }
    var random = SystemRandomNumberGenerator()
    let credentials = ICECredentials.random(using: &random)
    let logger = Logger(label: "warren.race")
    let driver = ICEDriver(
      agent: ICEAgent(role: role, localCredentials: credentials, configuration: configuration, seed: random.next()),
      logger: logger)
    var gatherer = Gatherer(hostAddresses: [try #require(TransportAddress.IP(arguments[4]))])
    gatherer.stunServers = [(arguments[5], try #require(UInt16(arguments[6])))]
    let turn = Gatherer.TURNServer(
      host: arguments[7], port: try #require(UInt16(arguments[8])), username: arguments[9], password: arguments[10])
    gatherer.turnServers = { [turn] }
    let gathered = Locked<[Candidate]>([])
    await gatherer.gather(on: driver, logger: logger) { candidate in gathered.withLock { $0.append(candidate) } }

    var description = "ufrag \(credentials.ufrag)\npwd \(credentials.pwd)\n"
    for candidate in gathered.withLock({ $0 }) {
      description += "candidate \(candidate.type) \(candidate.address.ip) \(candidate.address.port) \(candidate.priority) \(candidate.foundation)\n"
    }
    try Data(description.utf8).write(to: directory.appendingPathComponent(arguments[1] + ".tmp"))
    try FileManager.default.moveItem(
      at: directory.appendingPathComponent(arguments[1] + ".tmp"), to: directory.appendingPathComponent(arguments[1]))

    let peerFile = directory.appendingPathComponent(arguments[2])
    let done = directory.appendingPathComponent("done")
    while !FileManager.default.fileExists(atPath: peerFile.path) { try await Task.sleep(for: .milliseconds(1)) }
    let started = ContinuousClock.now
    var ufrag = "", pwd = ""
    for line in try String(contentsOf: peerFile, encoding: .utf8).split(separator: "\n") {
      let fields = line.split(separator: " ").map(String.init)
      switch (fields.first, fields.count) {
      case ("ufrag", 2): ufrag = fields[1]
      case ("pwd", 2): pwd = fields[1]
      case ("candidate", 6):
        guard let ip = TransportAddress.IP(fields[2]), let port = UInt16(fields[3]), let priority = UInt32(fields[4]) else { continue }
        let type: CandidateType = ["srflx": .serverReflexive, "prflx": .peerReflexive, "relay": .relay][fields[1]] ?? .host
        driver.addRemoteCandidate(
          Candidate(type: type, address: TransportAddress(ip: ip, port: port), priority: priority, foundation: fields[5]))
      default: continue
      }
    }
    driver.setRemoteCredentials(ICECredentials(ufrag: ufrag, pwd: pwd))

    let hold = environment["WARREN_RACE_HOLD_MS"].flatMap(Int.init).map { Duration.milliseconds($0) } ?? .zero
    let outcome = Outcome()
    let probe = Array("probe".utf8)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        for await event in driver.events {
          let now = ContinuousClock.now
          switch event {
          case .selectedPairChanged(let pair):
            let first = outcome.state.withLock { state in
              defer { state.connected = state.connected ?? now - started }
              state.selected.append(pair)
              return state.connected == nil
            }
            print("warren (\(role)): selected \(pair)")
            // For race_upgrade (race.sh): the path may open now.
            if first { _ = FileManager.default.createFile(atPath: directory.appendingPathComponent(arguments[1] + ".selected").path, contents: nil) }
            if first && role == .controlling {
              _ = driver.send(Self.probe(outcome.state.withLock { state in defer { state.nextProbe += 1 }; return state.nextProbe }))
            }
          case .data(let bytes, _) where role == .controlled:
            _ = driver.send(bytes)
          case .data(let bytes, _) where bytes.count == probe.count + 4 && bytes.starts(with: probe):
            let number = bytes.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let first = outcome.state.withLock { state in
              defer { state.echoed = state.echoed ?? now - started }
              if state.echoed == nil { state.countedFrom = state.nextProbe }
              state.echoedProbes.insert(number)
              return state.echoed == nil
            }
            if first && hold == .zero { _ = FileManager.default.createFile(atPath: done.path, contents: nil) }
          default:
            break
          }
        }
      }
      if role == .controlling {
        group.addTask {
          while true {
            try await Task.sleep(for: .milliseconds(5))
            guard outcome.state.withLock({ $0.connected != nil }) else { continue }
            let number = outcome.state.withLock { $0.nextProbe }
            if driver.send(Self.probe(number)) { outcome.state.withLock { $0.nextProbe += 1 } }
            // Holding: probes go on for `hold` after the first echo, then a last 100 ms for the
            // echoes in flight.
            if hold > .zero, let echoed = outcome.state.withLock({ $0.echoed }), ContinuousClock.now - started > echoed + hold - .seconds(1),
              outcome.state.withLock({ $0.receivedBeforeEnd == nil })
            {
              let received = Dictionary(uniqueKeysWithValues: driver.agent.orderedPairs.map { ($0.id, $0.statistics.packetsReceived) })
              outcome.state.withLock { $0.receivedBeforeEnd = received }
            }
            if hold > .zero, let echoed = outcome.state.withLock({ $0.echoed }), ContinuousClock.now - started > echoed + hold {
              try await Task.sleep(for: .milliseconds(100))
              _ = FileManager.default.createFile(atPath: done.path, contents: nil)
              return
            }
          }
        }
      }
      // The controlling side writes DIR/done when its probe comes back (or its hold ends); that
      // ends both sides.
      group.addTask {
        while !FileManager.default.fileExists(atPath: done.path) { try await Task.sleep(for: .milliseconds(2)) }
      }
      try await group.next()
      group.cancelAll()
    }
    // What the agent itself concluded about the peer (ICEEvent.renominationIgnored).
    let detected = driver.agent.peerFollowsRenomination.map { $0 ? "yes" : "no" } ?? "unknown"
    // The pairs the peer's datagrams arrived on in the last second.
    let before = outcome.state.withLock { $0.receivedBeforeEnd } ?? [:]
    let lastSecond = driver.agent.orderedPairs.compactMap { pair -> (CandidatePair, Int)? in
      let count = pair.statistics.packetsReceived - (before[pair.id] ?? 0)
      return count > 0 ? (pair, count) : nil
    }
    await driver.close()
    let milliseconds = { (duration: Duration?) in
      duration.map { String(format: "%.1f", Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1000) } ?? "-1"
    }
    let result = outcome.state.withLock { $0 }
    let (connected, echoed) = (result.connected, result.echoed)
    var line = "race: warren \(role) connected_ms=\(milliseconds(connected)) echo_ms=\(milliseconds(echoed))"
    if hold > .zero, let last = result.selected.last {
      // Whether the peer followed the last nomination: its echoes come from the selected pair's
      // remote address, not from the pair it used before.
      let followed = lastSecond.count == 1 && lastSecond[0].0.id == last.id
      let from = result.countedFrom ?? result.nextProbe
      let echoes = result.echoedProbes.filter { $0 >= from }.count
      line += " probes=\(result.nextProbe - from) echoes=\(echoes) switches=\(result.selected.count - 1)"
      line += " final=\(last.local.type)/\(last.remote.type) peer_followed=\(followed ? "yes" : "no") agent_detected=\(detected)"
      line += " last_second=" + lastSecond.map { "\($0.0.local.type)/\($0.0.remote.type):\($0.1)" }.joined(separator: ",")
    }
    print(line)
    #expect(connected != nil)
    #expect(role == .controlled || echoed != nil)
  }
}

import ArgumentParser
import Foundation
import WarrenDaemon
import WarrenSession

/// `warren status`: what the running daemon knows about each peer, through its control socket.
struct Status: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show each peer's session state, path, round-trip time and traffic (asks the running daemon).")

  @Option(help: "The daemon's control socket (default: the daemon's default, or control_socket in its config).")
  var socket: String?

  @Flag(help: "Print the daemon's JSON report instead of a table.")
  var json = false

  func run() async throws {
    let path = socket ?? ControlSocket.defaultPath()
    var lines: [ArraySlice<UInt8>] = []
    do {
      try await ControlSocket.request(ControlRequest(command: .status), path: path) { lines.append($0) }
      guard let line = lines.first else { throw ControlFailure("the daemon closed the connection without answering") }
      let report = try ControlCoding.decodeReply(StatusReport.self, from: line)
      print(json ? String(decoding: line, as: UTF8.self) : StatusTable(report: report).text, terminator: json ? "\n" : "")
    } catch let failure as ControlFailure {
      StandardStreams.printError("warren: \(failure)\n")
      throw ExitCode(1)
    }
  }
}

/// The human view of a ``StatusReport``: one row per peer, columns padded to fit.
struct StatusTable {
  let report: StatusReport

  var text: String {
    let wireguard = report.peers.contains { $0.interface != nil }
    var rows = [["PEER", "STATE", "ROLE", "PATH", "DATA PATH", "LOCAL", "REMOTE", "RTT", "SENT", "RECEIVED", "RESTARTS", "SWITCHES", "FOR"]]
    if wireguard { rows[0] += ["WG HANDSHAKE", "WG RX / TX"] }
    let now = Int64(Date().timeIntervalSince1970)
    for peer in report.peers {
      var extra: [String] = []
      if wireguard {
        let handshake = peer.wireguard?.latestHandshake.map { Self.duration(Double(max(0, now - $0))) + " ago" } ?? "-"
        let transfer = peer.wireguard.map { "\(Self.bytes(Int($0.receivedBytes))) / \(Self.bytes(Int($0.transmittedBytes)))" } ?? "-"
        extra = [handshake, transfer]
      }
      // On the kernel path the proxy carries nothing: WireGuard's own counters are the traffic.
      var sent = "\(peer.packetsSent) / \(Self.bytes(peer.bytesSent))"
      var received = "\(peer.packetsReceived) / \(Self.bytes(peer.bytesReceived))"
      if peer.dataPath == "kernel", let wireguard = peer.wireguard {
        sent = "- / \(Self.bytes(Int(wireguard.transmittedBytes)))"
        received = "- / \(Self.bytes(Int(wireguard.receivedBytes)))"
      }
      rows.append([
        peer.name, peer.state, peer.role, peer.path ?? "-", peer.dataPath ?? "-",
        peer.local.map { "\($0.type) \($0.address)" } ?? "-", peer.remote.map { "\($0.type) \($0.address)" } ?? "-",
        peer.rttMs.map { Self.milliseconds($0) } ?? "-",
        sent, received, Self.restarts(peer), Self.switches(peer), peer.secondsInState.map { Self.duration($0) } ?? "-",
      ] + extra)
    }
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    var text = report.publicKey.map { "warren \($0)\n" } ?? ""
    for row in rows {
      let cells = row.enumerated().map { column, cell in
        column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
      }
      text += cells.joined(separator: "  ") + "\n"
    }
    if report.peers.isEmpty { text += "(no peers configured)\n" }
    for discovery in report.discovery ?? [] { text += Self.discovery(discovery) }
    return text
  }

  /// An interface's peer discovery: its community, then one line per learned peer.
  static func discovery(_ report: DiscoveryReport) -> String {
    var text = "\ndiscovery on \(report.interface): community \(report.community ?? "-")"
    if let problem = report.problem { text += " (\(problem))" }
    let refused = report.refusals.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
    if !refused.isEmpty { text += "; refused: \(refused.joined(separator: ", "))" }
    text += "\n"
    var rows = [["LEARNED PEER", "KEY", "ALLOWED IPS", "ANNOUNCED", "FROM"]]
    for peer in report.learned {
      rows.append([
        peer.name.isEmpty ? "-" : peer.name, String(peer.publicKey.prefix(8)) + "…", peer.allowedIps.joined(separator: ","),
        duration(peer.lastAnnouncedSecondsAgo) + " ago", peer.learnedFrom,
      ])
    }
    if report.learned.isEmpty { return text + "(no peers learned yet)\n" }
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
      text += row.enumerated().map { column, cell in
        column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
      }.joined(separator: "  ") + "\n"
    }
    return text
  }

  /// The total, and its causes when there were any: "3 (peer 2, failed 1)".
  static func restarts(_ peer: PeerReport) -> String {
    let causes = peer.restartCauses
    let parts = [
      ("peer", causes[.peerRestarted]), ("failed", causes[.agentFailed]), ("disconnected", causes[.disconnected]),
      ("stalled", causes[.stalled]),
    ].filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
    return parts.isEmpty ? "\(peer.restarts)" : "\(peer.restarts) (\(parts.joined(separator: ", ")))"
  }

  /// Path switches, and the last one's age: "1 (12s ago)".
  static func switches(_ peer: PeerReport) -> String {
    guard peer.pathSwitches > 0, let ago = peer.secondsSinceSwitch else { return "\(peer.pathSwitches)" }
    return "\(peer.pathSwitches) (\(duration(ago)) ago)"
  }

  static func milliseconds(_ value: Double) -> String {
    value < 10 ? "\((value * 100).rounded() / 100) ms" : "\(Int(value.rounded())) ms"
  }

  static func bytes(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(count) B" : "\((value * 10).rounded() / 10) \(units[unit])"
  }

  static func duration(_ seconds: Double) -> String {
    let whole = Int(seconds)
    if whole < 60 { return "\(whole)s" }
    if whole < 3600 { return "\(whole / 60)m\(whole % 60)s" }
    return "\(whole / 3600)h\(whole % 3600 / 60)m"
  }
}

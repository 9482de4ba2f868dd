import ArgumentParser
import WarrenDaemon

/// `warren ping PEER`: probes sent by the running daemon over the peer's session, each answered by
/// the peer's ICE agent; prints each round-trip time and the path it took.
struct Ping: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Probe a peer over its session through the running daemon; print each round-trip time and the path.")

  @Argument(help: "The peer's name in the daemon's configuration, or its public key.")
  var peer: String

  @Option(name: .shortAndLong, help: "Probes to send (1-1000).")
  var count = 5

  @Option(help: "Seconds between probes.")
  var interval = 1.0

  @Option(help: "Seconds to wait for each answer.")
  var timeout = 2.0

  @Option(help: "The daemon's control socket (default: the daemon's default, or control_socket in its config).")
  var socket: String?

  @Flag(help: "Print one JSON object per probe instead of text.")
  var json = false

  func validate() throws {
    guard (1...1000).contains(count) else { throw ValidationError("--count must be between 1 and 1000") }
    guard interval >= 0.01 else { throw ValidationError("--interval must be at least 0.01 s") }
    guard (0.01...60).contains(timeout) else { throw ValidationError("--timeout must be between 0.01 and 60 s") }
  }

  func run() async throws {
    let request = ControlRequest(
      command: .ping, peer: peer, count: count, intervalMs: Int((interval * 1000).rounded()),
      timeoutMs: Int((timeout * 1000).rounded()))
    var answered: [Double] = []
    var sent = 0
    do {
      try await ControlSocket.request(request, path: socket ?? ControlSocket.defaultPath()) { line in
        let reply = try ControlCoding.decodeReply(PingReply.self, from: line)
        sent += 1
        if let rtt = reply.rttMs, reply.result == .answered { answered.append(rtt) }
        print(json ? String(decoding: line, as: UTF8.self) : Self.describe(reply))
      }
    } catch let failure as ControlFailure {
      StandardStreams.printError("warren: \(failure)\n")
      throw ExitCode(1)
    }
    if !json {
      let loss = sent == 0 ? 100 : (sent - answered.count) * 100 / sent
      var summary = "\(sent) probes, \(answered.count) answered, \(loss)% lost"
      if let low = answered.min(), let high = answered.max() {
        let average = answered.reduce(0, +) / Double(answered.count)
        summary += ", rtt min/avg/max \(StatusTable.milliseconds(low)) / \(StatusTable.milliseconds(average)) / \(StatusTable.milliseconds(high))"
      }
      print(summary)
    }
    if answered.isEmpty { throw ExitCode(1) }
  }

  static func describe(_ reply: PingReply) -> String {
    switch reply.result {
    case .answered:
      "pong from \(reply.peer) via \(reply.path ?? "?") \(reply.remote ?? "") in \(StatusTable.milliseconds(reply.rttMs ?? 0)) (seq \(reply.seq))"
    case .lost:
      "timeout waiting for \(reply.peer) (seq \(reply.seq))"
    case .noPath:
      "no path to \(reply.peer) yet: the session is not connected (seq \(reply.seq))"
    }
  }
}

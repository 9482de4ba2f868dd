import Foundation
import Testing
@testable import WarrenDaemon
import WarrenSession

/// The control socket's protocol (docs/control.md) byte for byte, and where its socket may live.
@Suite("control protocol")
struct ControlProtocolTests {
  func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

  @Test("requests are one JSON line with sorted snake_case keys")
  func requestBytes() throws {
    #expect(text(try ControlCoding.encode(ControlRequest(command: .status))) == #"{"command":"status"}"# + "\n")
    let ping = ControlRequest(command: .ping, peer: "bob", count: 3, intervalMs: 200, timeoutMs: 1000)
    #expect(
      text(try ControlCoding.encode(ping)) == #"{"command":"ping","count":3,"interval_ms":200,"peer":"bob","timeout_ms":1000}"# + "\n")
    #expect(try ControlCoding.decode(ControlRequest.self, from: Array(#"{"command":"ping","peer":"bob","count":3,"interval_ms":200,"timeout_ms":1000}"#.utf8)) == ping)
  }

  @Test("a status report keeps every count under its documented key")
  func statusKeys() throws {
    var dropped = DroppedMessageCounts()
    dropped[.staleAgent] = 101
    dropped[.unusableCandidate] = 2
    let peer = PeerReport(
      name: "bob", publicKey: "KEY", state: "completed", role: "controlling", path: "direct",
      local: .init(type: "host", address: "127.0.0.1:1"), remote: .init(type: "prflx", address: "127.0.0.1:2"), rttMs: 0.25,
      restarts: 3, restartCauses: RestartCounts([.peerRestarted: 1, .agentFailed: 0, .disconnected: 2, .stalled: 0]), droppedMessages: dropped,
      secondsInState: 1.5, pathSwitches: 1, secondsSinceSwitch: 0.5, listen: "127.0.0.1:3", forward: "127.0.0.1:4", packetsSent: 5, bytesSent: 6, packetsReceived: 7,
      bytesReceived: 8, droppedNoPath: 9, interface: "wg0", wireguard: nil, dataPath: "kernel", dataPathReason: "the selected pair is direct")
    let line = text(try ControlCoding.encode(StatusReport(publicKey: "OURS", peers: [peer])))
    #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
    for fragment in [
      #""restart_causes":{"agent_failed":0,"disconnected":2,"peer_restarted":1,"stalled":0}"#,
      #""dropped_messages":{"conflicting_credentials":0,"old_credentials":0,"outside_clock_window":0,"seen_nonce":0,"stale_agent":101,"stale_freshness":0,"too_many_early_candidates":0,"unannounced_credentials":0,"unusable_candidate":2}"#,
      #""local":{"address":"127.0.0.1:1","type":"host"}"#, #""rtt_ms":0.25"#, #""seconds_in_state":1.5"#,
      #""dropped_no_path":9"#, #""public_key":"OURS""#, #""data_path":"kernel""#, #""data_path_reason":"the selected pair is direct""#, #""path_switches":1"#, #""seconds_since_switch":0.5"#,
    ] {
      #expect(line.contains(fragment), "\(fragment) in \(line)")
    }
    #expect(try ControlCoding.decode(StatusReport.self, from: Array(line.utf8)) == StatusReport(publicKey: "OURS", peers: [peer]))
    #expect(dropped.total == 103)
  }

  @Test("a reply line is the answer or the daemon's error; a broken line is an error, not a crash")
  func replies() throws {
    let answer = PingReply(seq: 1, peer: "bob", result: .answered, rttMs: 0.5, path: "direct", remote: "127.0.0.1:2")
    #expect(try ControlCoding.decodeReply(PingReply.self, from: try ControlCoding.encode(answer).dropLast()) == answer)
    #expect(text(try ControlCoding.encode(PingReply(seq: 2, peer: "bob", result: .noPath))) == #"{"peer":"bob","result":"no_path","seq":2}"# + "\n")
    #expect(throws: ControlFailure("no peer named 'carol'")) {
      try ControlCoding.decodeReply(PingReply.self, from: Array(#"{"error":"no peer named 'carol'"}"#.utf8))
    }
    #expect(throws: DecodingError.self) { try ControlCoding.decodeReply(PingReply.self, from: Array("{\"seq\":".utf8)) }
    #expect(throws: DecodingError.self) { try ControlCoding.decode(ControlRequest.self, from: Array(#"{"command":"reboot"}"#.utf8)) }
  }

  @Test("the socket lives under /run for root, in XDG_RUNTIME_DIR, else in a per-user directory under /tmp")
  func defaultPaths() {
    #expect(ControlSocket.defaultPath(uid: 0, environment: ["XDG_RUNTIME_DIR": "/run/user/0"]) == "/run/warren/warren.sock")
    #expect(ControlSocket.defaultPath(uid: 1000, environment: ["XDG_RUNTIME_DIR": "/run/user/1000"]) == "/run/user/1000/warren.sock")
    #expect(ControlSocket.defaultPath(uid: 1000, environment: ["XDG_RUNTIME_DIR": ""]) == "/tmp/warren-1000/warren.sock")
    #expect(ControlSocket.defaultPath(uid: 1000, environment: [:]) == "/tmp/warren-1000/warren.sock")
  }

  @Test("the socket's directory is created closed to others; one writable by others is refused")
  func socketDirectory() throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("warren-dir-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: base) }
    try ControlSocket.prepareDirectory(for: "\(base)/fresh/warren.sock")
    let mode = try FileManager.default.attributesOfItem(atPath: "\(base)/fresh")[.posixPermissions] as? Int
    #expect(mode == 0o700)

    try FileManager.default.createDirectory(atPath: "\(base)/open", withIntermediateDirectories: true)
    try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: "\(base)/open")
    #expect(throws: ControlFailure("the control socket's directory \(base)/open is writable by others (mode 777)")) {
      try ControlSocket.prepareDirectory(for: "\(base)/open/warren.sock")
    }
    // Sticky, like /tmp: fine.
    try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: "\(base)/open")
    try ControlSocket.prepareDirectory(for: "\(base)/open/warren.sock")
  }
}

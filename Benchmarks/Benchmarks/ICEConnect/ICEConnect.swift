import Foundation
import Logging
import WarrenICE
import WarrenICENIO
import WarrenSTUN

/// `ICEConnect RUNS`: median time from "both sides have credentials and candidates" to "both
/// selected a pair" for two Warren agents on 127.0.0.1 (one host candidate each), then the CPU
/// time the agents spend per 1,000 connectivity checks, measured in memory without sockets.
@main
struct ICEConnect {
  static func main() async throws {
    let runs = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 20
    var times: [Double] = []
    for _ in 0..<runs { times.append(try await connectOnce()) }
    times.sort()
    print(String(format: "warren time-to-connected: median %.2f ms over %d runs (min %.2f, max %.2f)",
                 times[times.count / 2] * 1000, runs, times[0] * 1000, times[times.count - 1] * 1000))
    print(String(format: "warren CPU per 1,000 connectivity checks: %.2f ms", checksCPU() * 1000))
  }

  static func connectOnce() async throws -> Double {
    var random = SystemRandomNumberGenerator()
    let credentials = (ICECredentials.random(using: &random), ICECredentials.random(using: &random))
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let a = ICEDriver(agent: ICEAgent(role: .controlling, localCredentials: credentials.0, seed: random.next()), logger: logger)
    let b = ICEDriver(agent: ICEAgent(role: .controlled, localCredentials: credentials.1, seed: random.next()), logger: logger)
    let ip = TransportAddress.IP("127.0.0.1")!
    let ca = try await a.bindHostCandidates([ip])
    let cb = try await b.bindHostCandidates([ip])
    let start = ContinuousClock.now
    a.setRemoteCredentials(credentials.1)
    b.setRemoteCredentials(credentials.0)
    ca.forEach(b.addRemoteCandidate)
    cb.forEach(a.addRemoteCandidate)
    async let x: Void = selected(a)
    async let y: Void = selected(b)
    _ = await (x, y)
    let elapsed = ContinuousClock.now - start
    await a.close()
    await b.close()
    let (seconds, attoseconds) = elapsed.components
    return Double(seconds) + Double(attoseconds) / 1e18
  }

  static func selected(_ driver: ICEDriver) async {
    for await event in driver.events {
      if case .selectedPairChanged = event { return }
    }
  }

  /// Two agents exchanging checks in memory until connected, many times; CPU seconds per 1,000
  /// Binding requests sent.
  static func checksCPU() -> Double {
    let before = cpuSeconds()
    var checks = 0
    let a1 = TransportAddress(ip: TransportAddress.IP("198.51.100.1")!, port: 1000)
    let b1 = TransportAddress(ip: TransportAddress.IP("198.51.100.2")!, port: 2000)
    var random = SplitMix64(seed: 1)
    for round in 0..<2000 {
      let now = ContinuousClock.now
      let ca = ICECredentials.random(using: &random), cb = ICECredentials.random(using: &random)
      var a = ICEAgent(role: .controlling, localCredentials: ca, seed: UInt64(round))
      var b = ICEAgent(role: .controlled, localCredentials: cb, seed: UInt64(round) + 1)
      a.setRemoteCredentials(cb, now: now)
      b.setRemoteCredentials(ca, now: now)
      a.addLocalCandidate(Candidate(type: .host, address: a1), now: now)
      b.addLocalCandidate(Candidate(type: .host, address: b1), now: now)
      a.addRemoteCandidate(Candidate(type: .host, address: b1), now: now)
      b.addRemoteCandidate(Candidate(type: .host, address: a1), now: now)
      var time = now
      for _ in 0..<50 where a.selectedPair == nil || b.selectedPair == nil {
        a.handleTimeout(now: time)
        b.handleTimeout(now: time)
        while let t = a.pollTransmit() { b.handleReceive(t.bytes, from: t.from, to: t.to, now: time) }
        while let t = b.pollTransmit() { a.handleReceive(t.bytes, from: t.from, to: t.to, now: time) }
        while a.pollEvent() != nil {}
        while b.pollEvent() != nil {}
        time += .milliseconds(50)
      }
      checks += a.checklist.reduce(0) { $0 + $1.statistics.requestsSent } + b.checklist.reduce(0) { $0 + $1.statistics.requestsSent }
    }
    return (cpuSeconds() - before) / Double(checks) * 1000
  }

  static func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
      + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
  }
}

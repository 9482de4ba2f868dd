import Foundation
import Testing
import WarrenTestSupport

@Suite("warren up --check: the configuration is checked, nothing is started", .timeLimit(.scaled(minutes: 1)))
struct UpCheckTests {
  func check(_ yaml: String) throws -> (status: Int32, stdout: String, stderr: String) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("warren-check-\(UUID()).yaml")
    try yaml.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    return try runWarren(["up", "--check", "--config", file.path])
  }

  @Test("the packaged default configuration passes, and says what it would run")
  func packagedDefault() throws {
    let packaged = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../deploy/debian/warren.yaml").standardized
    let result = try runWarren(["up", "--check", "--config", packaged.path])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.hasSuffix(": OK: 0 configured peers, WireGuard interfaces wg0, backends grpc://signal.example.net:8080\n"))
  }

  @Test("a backend URL with an unknown parameter fails with exit 1, naming the file and the parameter")
  func badBackend() throws {
    let result = try check(
      """
      private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=
      backends: [ "grpc://signal.example.net:8080?insecure=true&colour=blue" ]
      """)
    #expect(result.status == 1)
    #expect(result.stderr.contains("backends:") && result.stderr.contains("colour"), "\(result.stderr)")
    #expect(result.stdout.isEmpty)
  }

  @Test("a broken file fails with the line of the mistake")
  func brokenFile() throws {
    let result = try check(
      """
      private_key: 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=
      backends: [ "grpc://signal.example.net:8080" ]
      ice:
        network_types: [ udp5 ]
      """)
    #expect(result.status == 1)
    #expect(result.stderr.contains(".yaml:4: ice.network_types: unsupported network type 'udp5'"), "\(result.stderr)")
  }
}

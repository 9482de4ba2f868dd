import Foundation
import Testing
import WarrenCrypto
import WarrenTestSupport

/// The built `warren` executable, which SwiftPM places next to the test bundle.
func warrenExecutable() throws -> URL {
  let directory = Bundle.main.bundleURL.deletingLastPathComponent()
  let candidates = [directory, Bundle.main.bundleURL].map { $0.appendingPathComponent("warren") }
  guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: candidates[0].path])
  }
  return executable
}

/// Runs `warren` with `arguments` and `input` on standard input, to its end or for at most
/// `limit` (then it is killed).
func runWarren(_ arguments: [String], input: [UInt8] = [], limit: Duration = .seconds(60)) throws -> (status: Int32, stdout: String, stderr: String) {
  try runProcess(try warrenExecutable(), arguments, input: input, limit: limit)
}

/// Runs `executable` to its end, or for at most `limit` (then it is killed).
/// Standard output and error are read at once: a child that filled one pipe while the test
/// waited on the other would block for ever (as `warren demo` did, writing a sanitizer's report
/// to standard error).
func runProcess(_ executable: URL, _ arguments: [String], input: [UInt8] = [], limit: Duration) throws -> (status: Int32, stdout: String, stderr: String) {
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
  process.standardInput = stdin
  process.standardOutput = stdout
  process.standardError = stderr
  try process.run()
  let ended = PipeReader.watchdog(process, limit: limit)
  defer { ended() }
  let errors = PipeReader(stderr.fileHandleForReading)
  stdin.fileHandleForWriting.write(Data(input))
  try stdin.fileHandleForWriting.close()
  let out = stdout.fileHandleForReading.readDataToEndOfFile()
  let err = errors.collected()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

@Suite("warren genkey / pubkey behave like wg", .timeLimit(.scaled(minutes: 1)))
struct KeyCommandTests {
  @Test("genkey prints a clamped key in base64 and a newline")
  func genkey() throws {
    let result = try runWarren(["genkey"])
    #expect(result.status == 0)
    #expect(result.stdout.count == 45)
    #expect(result.stdout.hasSuffix("=\n"))
    let bytes = try Key(base64: result.stdout.dropLast()).bytes
    #expect(bytes[0] & 7 == 0 && bytes[31] & 0xc0 == 0x40)
  }

  @Test("pubkey derives the public key of known and unclamped private keys", arguments: [
    ("6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=\n", "rhWiSL+tfG0Op7GeUYNw/1jCWfNdAWm5EgPGea8ibh4="),
    ("v5ot8GFS3q81UGs5OFrTZE4QrbiODdGx6iKpREfL5t4=", "c0159XOI3xXQqf0Cx+Ydutx/4VruQKLDQTTEgfKeBGI="),
    ("v5ot8GFS3q81UGs5OFrTZE4QrbiODdGx6iKpREfL5t4= \t\r\n\n", "c0159XOI3xXQqf0Cx+Ydutx/4VruQKLDQTTEgfKeBGI="),
  ])
  func pubkey(privateKey: String, publicKey: String) throws {
    let result = try runWarren(["pubkey"], input: Array(privateKey.utf8))
    #expect(result.status == 0)
    #expect(result.stdout == publicKey + "\n")
    #expect(result.stderr.isEmpty)
  }

  @Test("pubkey rejects bad input with wg's message and exit status 1", arguments: [
    ("", "warren: Key is not the correct length or format"),
    ("6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M", "warren: Key is not the correct length or format"),
    ("6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=x", "warren: Trailing characters found after key"),
    (" 6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0M=", "warren: Trailing characters found after key"),
    ("6CxP+TuVdfpTT8kKqcXkpkZ25Sobc8I72vOrzc+vx0*=", "character 43 of the key is not standard base64"),
  ])
  func pubkeyErrors(input: String, message: String) throws {
    let result = try runWarren(["pubkey"], input: Array(input.utf8))
    #expect(result.status == 1)
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.contains(message), "\(result.stderr)")
    #expect(result.stderr.hasPrefix("warren: "))
  }

  @Test("genkey | pubkey round-trips")
  func roundTrip() throws {
    for _ in 0..<5 {
      let privateKey = try runWarren(["genkey"]).stdout
      let publicKey = try runWarren(["pubkey"], input: Array(privateKey.utf8)).stdout
      #expect(try PrivateKey(base64: privateKey.dropLast()).publicKey.base64 + "\n" == publicKey)
    }
  }

  @Test("version")
  func version() throws {
    let result = try runWarren(["version"])
    #expect(result.status == 0)
    #expect(result.stdout.hasPrefix("warren "))
  }
}

@Suite("warren demo", .timeLimit(.scaled(minutes: 1)))
struct DemoCommandTests {
  @Test("runs the whole system on embedded defaults and exits 0")
  func demo() throws {
    let result = try runWarren(["demo", "--datagrams", "300"])
    #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
    #expect(result.stdout.contains("signaling server listening on grpc://127.0.0.1:"))
    #expect(result.stdout.contains("idle -> new (received the peer's credentials)"))
    #expect(result.stdout.contains("checking -> completed"))
    #expect(result.stdout.contains("checking -> connected"))
    #expect(result.stdout.contains(" selected host 127.0.0.1:"))
    #expect(result.stdout.contains("of 300 datagrams echoed"))
    #expect(result.stdout.contains("RTT p50"))
  }
}

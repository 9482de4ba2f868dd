import Foundation
import Testing
import WarrenCrypto
import WarrenTestSupport

@Suite("warren signal: its key file and allowed keys, and their mistakes", .timeLimit(.scaled(minutes: 1)))
struct SignalCommandTests {
  @Test("--key-file is created with mode 0600 at first start and used as it is afterwards")
  func keyFile() async throws {
    let directory = try directory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let keyFile = directory.appendingPathComponent("signal.key").path
    var contents: [String] = []
    for _ in 0..<2 {
      // Serving is what says the key file was read and usable: the listening line names its key.
      let (process, listening) = try startSignal(["--listen", "127.0.0.1:0", "--key-file", keyFile])
      defer {
        process.terminate()
        process.waitUntilExit()
      }
      #expect(process.isRunning, "warren signal exited: the key file was not usable")
      contents.append(try String(contentsOfFile: keyFile, encoding: .utf8))
      let key = try PrivateKey(base64: contents.last!.dropLast())
      #expect(listening?["server_key"] == key.publicKey.base64, "\(String(describing: listening))")
    }
    #expect(contents[0] == contents[1])
    let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    let text = try String(contentsOfFile: keyFile, encoding: .utf8)
    #expect(text.count == 45 && text.hasSuffix("\n"))
    #expect(throws: Never.self) { try PrivateKey(base64: text.dropLast()) }
  }

  /// Starts `warren signal` with `arguments`, logging JSON, and reads its standard error until
  /// the server says it listens; that line's fields, or nil if it never came (the process ended).
  /// The caller terminates the process.
  func startSignal(_ arguments: [String]) throws -> (Process, [String: String]?) {
    let process = Process()
    process.executableURL = try warrenExecutable()
    process.arguments = ["signal"] + arguments + ["--log-format", "json"]
    let stderr = Pipe()
    process.standardError = stderr
    try process.run()
    var text = ""
    for _ in 0..<100 where !text.contains("signaling server listening") {
      text += String(decoding: stderr.fileHandleForReading.availableData, as: UTF8.self)
    }
    // The rest is read to its end beside the test, so the server never blocks writing its logs.
    _ = PipeReader(stderr.fileHandleForReading)
    let line = text.split(separator: "\n").first { $0.contains("signaling server listening") }
    return (process, line.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] })
  }

  func directory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-signal-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
  }

  @Test("--log-format json: one object per line, metadata as fields; a bad format is refused")
  func jsonLogs() async throws {
    let (process, listening) = try startSignal(["--listen", "127.0.0.1:0"])
    defer {
      process.terminate()
      process.waitUntilExit()
    }
    let object = try #require(listening)
    #expect(object["message"] == "signaling server listening" && object["level"] == "info" && object["logger"] == "warren.signal")
    #expect(object["address"] == "[ipv4]127.0.0.1:\(object["port"] ?? "?")" && object["tls"] == "false")
    #expect(object["time"]?.hasSuffix("Z") == true && object["time"]?.count == 24)
    let refused = try runWarren(["signal", "--log-format", "xml"])
    #expect(refused.status != 0 && refused.stderr.contains("--log-format must be text or json, got 'xml'"))
  }

  @Test("a key file that is not a key, and an allowed-keys file with a bad line, are refused naming the problem")
  func brokenFiles() throws {
    let directory = try directory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let keyFile = directory.appendingPathComponent("signal.key").path
    try "not a key\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
    let badKey = try runWarren(["signal", "--listen", "127.0.0.1:0", "--key-file", keyFile])
    #expect(badKey.status != 0 && badKey.stderr.contains("--key-file \(keyFile): not a base64 private key"), "\(badKey.stderr)")

    let keys = directory.appendingPathComponent("keys").path
    try "\(PrivateKey.generate().publicKey.base64)\n# fine\nwrong\n".write(toFile: keys, atomically: true, encoding: .utf8)
    let badKeys = try runWarren(["signal", "--listen", "127.0.0.1:0", "--allow-keys", keys])
    #expect(badKeys.status != 0 && badKeys.stderr.contains("\(keys):3: 'wrong' is not a base64 public key"), "\(badKeys.stderr)")

    let missing = try runWarren(["signal", "--listen", "127.0.0.1:0", "--allow-keys", directory.appendingPathComponent("none").path])
    #expect(missing.status != 0 && missing.stderr.contains("cannot read the allowed keys"), "\(missing.stderr)")
  }
}

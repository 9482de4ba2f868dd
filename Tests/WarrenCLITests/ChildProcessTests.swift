import Foundation
import Testing
import WarrenTestSupport

/// The way these tests run a child: both pipes drained at once, and no child outliving its time.
@Suite("running a child process", .timeLimit(.scaled(minutes: 1)))
struct ChildProcessTests {
  let shell = URL(fileURLWithPath: "/bin/sh")

  @Test("a child that writes 256 KiB to standard error before its standard output ends is read to its end")
  func fullStandardError() throws {
    let result = try runProcess(shell, ["-c", "head -c 262144 /dev/zero >&2; echo done"], limit: .seconds(30))
    #expect(result.status == 0)
    #expect(result.stdout == "done\n")
    #expect(result.stderr.utf8.count == 262_144)
  }

  @Test("a child still running when its time is up is killed")
  func endedAtTheLimit() throws {
    let started = ContinuousClock.now
    let result = try runProcess(shell, ["-c", "exec sleep 30"], limit: .milliseconds(500))
    #expect(result.status == SIGKILL)
    #expect(ContinuousClock.now - started < .seconds(10))
  }
}

import NIOCore
import NIOPosix
import Testing
@testable import WarrenSignalServer

@Suite("the server's tasks on its event loops")
struct EventLoopExecutorTests {
  @Test("a task that prefers the executor, and its children, run on the group's loops, also after a suspension")
  func tasksRunOnTheLoops() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop = group.next()
    let onTheLoop = await withTaskExecutorPreference(EventLoopExecutor(group: group)) {
      var seen = [loop.inEventLoop]
      // A child task of a group, as each RPC of grpc-swift's server is.
      seen += await withTaskGroup(of: Bool.self) { children in
        for _ in 0..<4 { children.addTask { loop.inEventLoop } }
        return await children.reduce(into: []) { $0.append($1) }
      }
      // Resumed by the loop itself (a future completed there): continues there.
      _ = try? await loop.scheduleTask(in: .milliseconds(1)) {}.futureResult.get()
      seen.append(loop.inEventLoop)
      return seen
    }
    // Without the preference, the same code runs on the global pool.
    let elsewhere = await Task.detached { loop.inEventLoop }.value
    try await group.shutdownGracefully()
    #expect(onTheLoop == Array(repeating: true, count: 6))
    #expect(!elsewhere)
  }
}

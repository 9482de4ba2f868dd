import Foundation
import Testing
import WarrenFuzzTargets

/// The committed inputs of `Fuzz/`, through the same targets the fuzzer drives: every seed is a
/// valid input its decoder accepts (so the fuzzer starts inside the decoder, not at its first
/// check), and every input the fuzzer once crashed on runs to its end now.
@Suite("Fuzz targets on the committed seeds and regressions")
struct FuzzCorpusTests {
  static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Fuzz").standardizedFileURL

  static func inputs(_ folder: String, _ target: String) -> [(name: String, bytes: [UInt8])] {
    let directory = fuzz.appendingPathComponent(folder).appendingPathComponent(target)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().map { name in
      (name, Array((try? Data(contentsOf: directory.appendingPathComponent(name))) ?? Data()))
    }
  }

  @Test("every seed is accepted by its target", arguments: FuzzTarget.all.map(\.name))
  func seedsAreAccepted(name: String) throws {
    let target = try #require(FuzzTarget.named(name))
    let seeds = Self.inputs("corpus", name)
    #expect(!seeds.isEmpty, "Fuzz/corpus/\(name) has no seeds (scripts/fuzz-seeds.py writes them)")
    for seed in seeds {
      #expect(target.run(seed.bytes) == .accepted, "Fuzz/corpus/\(name)/\(seed.name) is refused")
    }
  }

  @Test("every input a fuzzer found a crash with runs to its end", arguments: FuzzTarget.all.map(\.name))
  func regressionsRun(name: String) throws {
    let target = try #require(FuzzTarget.named(name))
    for input in Self.inputs("regressions", name) { target.run(input.bytes) }
  }

  @Test("every corpus folder is a target's, and target names are unique")
  func foldersNameTargets() throws {
    let names = FuzzTarget.all.map(\.name)
    #expect(Set(names).count == names.count)
    for folder in ["corpus", "regressions"] {
      let found = (try? FileManager.default.contentsOfDirectory(atPath: Self.fuzz.appendingPathComponent(folder).path)) ?? []
      for name in found where !name.hasPrefix(".") {
        #expect(names.contains(name), "Fuzz/\(folder)/\(name) is no target's")
      }
    }
  }

  @Test("bad input is refused, not accepted: an empty input and a lone byte")
  func garbageIsRefused() {
    // An empty allowed-keys file (it allows nobody) and an empty netlink datagram (no change) are
    // valid; every other target refuses both inputs (no URL parser takes "" or 0xff).
    for target in FuzzTarget.all where !["allowed-keys", "netlink"].contains(target.name) {
      #expect(target.run([]) == .refused, "\(target.name) accepted an empty input")
      #expect(target.run([0xff]) == .refused, "\(target.name) accepted 0xff")
    }
  }
}

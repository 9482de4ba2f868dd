internal import WarrenFuzzTargets
#if WARREN_LIBFUZZER
internal import WarrenLibFuzzer
#endif

#if canImport(Glibc)
internal import Glibc
#endif

/// A line on standard error.
func complain(_ text: String) {
  let line = Array("warren-fuzz: \(text)\n".utf8)
  _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

#if WARREN_LIBFUZZER
/// The target named by WARREN_FUZZ_TARGET, chosen once before the first input.
let selectedTarget: FuzzTarget = {
  let name = getenv("WARREN_FUZZ_TARGET").map { String(cString: $0) } ?? ""
  guard let target = FuzzTarget.named(name) else {
    let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
    complain("set WARREN_FUZZ_TARGET to one of: \(names) (it is '\(name)')")
    exit(2)
  }
  return target
}()

/// The process's entry point. SwiftPM links an executable's `main` to a function of this name
/// (so that tests can import the module), which leaves libFuzzer's own `main` out: this hands
/// the command line to libFuzzer's driver instead.
@_cdecl("warren_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  var argc = argc
  var argv = argv
  return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
}

/// libFuzzer calls this for every input it tries (and its library refers to it by this name).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  selectedTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
  return 0
}
#else
/// `warren-fuzz TARGET FILE|FOLDER...` runs saved inputs through a target without libFuzzer (a
/// crash found by scripts/fuzz.sh reproduces here, in a debugger if need be); `warren-fuzz` alone
/// lists the targets.
@main
struct WarrenFuzz {
  static func main() {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard let name = arguments.first else {
      for target in FuzzTarget.all { print("\(target.name): \(target.summary)") }
      return
    }
    guard let target = FuzzTarget.named(name) else {
      complain("no target '\(name)'; run warren-fuzz alone for the list")
      exit(2)
    }
    var accepted = 0
    var refused = 0
    for path in arguments.dropFirst().flatMap(inputFiles) {
      guard let input = read(path) else {
        complain("cannot read \(path)")
        exit(1)
      }
      switch target.run(input) {
      case .accepted: accepted += 1
      case .refused: refused += 1
      }
    }
    print("\(target.name): \(accepted + refused) inputs, \(accepted) accepted, \(refused) refused")
  }

  /// The path itself, or the files in it when it is a folder.
  static func inputFiles(_ path: String) -> [String] {
    guard let folder = opendir(path) else { return [path] }
    defer { closedir(folder) }
    var files: [String] = []
    while let entry = readdir(folder) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      if !name.hasPrefix(".") { files.append("\(path)/\(name)") }
    }
    return files.sorted()
  }

  static func read(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = fread(&buffer, 1, buffer.count, file)
      bytes += buffer[0..<count]
      if count < buffer.count { return ferror(file) == 0 ? bytes : nil }
    }
  }
}
#endif

import ArgumentParser

struct Version: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print Warren's version.")

  func run() {
    print(WarrenVersion.current)
  }
}

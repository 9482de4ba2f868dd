/// Warren's release and the platform it was built for, as `warren version` prints them.
struct WarrenVersion: CustomStringConvertible {
  static let current = WarrenVersion(release: "0.1.0")

  let release: String

  var os: String {
    #if os(Linux)
      "linux"
    #elseif os(macOS)
      "darwin"
    #else
      "unknown"
    #endif
  }

  var arch: String {
    #if arch(x86_64)
      "amd64"
    #elseif arch(arm64)
      "arm64"
    #else
      "unknown"
    #endif
  }

  var description: String { "warren \(release) \(os)/\(arch)" }
}

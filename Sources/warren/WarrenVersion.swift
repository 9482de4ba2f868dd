import WarrenWire

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

  /// What `GetBuildInfo` answers.
  var buildInfo: Cunicu_BuildInfo {
    var info = Cunicu_BuildInfo()
    info.version = release
    info.os = os
    info.arch = arch
    info.builtBy = "warren"
    return info
  }
}

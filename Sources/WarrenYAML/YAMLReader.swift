internal import Foundation
public import Yams

/// Walks a YAML tree with the line of every node at hand, so that every error names the file, the
/// line and the field. Shared by the daemon's configuration and the Kubernetes backend's
/// kubeconfig reader.
public struct YAMLReader: Sendable {
  /// The file, as errors name it.
  public let file: String

  public init(file: String) { self.file = file }

  /// Reads `path` and parses it; errors name the file.
  public static func load(path: String) throws(ConfigurationError) -> (YAMLReader, Node) {
    guard FileManager.default.fileExists(atPath: path) else {
      throw ConfigurationError(.unreadable, file: path, line: nil, field: "", message: "cannot read the file: no such file")
    }
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ConfigurationError(.unreadable, file: path, line: nil, field: "", message: "cannot read the file: \(error.localizedDescription)")
    }
    let reader = YAMLReader(file: path)
    return (reader, try reader.parse(text))
  }

  /// The root node of `text`.
  public func parse(_ text: String) throws(ConfigurationError) -> Node {
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch {
      throw ConfigurationError(.notYAML, file: file, line: nil, field: "", message: "not valid YAML: \(error)")
    }
    guard let root else { throw self.error(nil, "", "the file is empty") }
    return root
  }

  public func error(_ node: Node?, _ field: String, _ message: String) -> ConfigurationError {
    ConfigurationError(file: file, line: node?.mark?.line, field: field, message: message)
  }

  /// The entries of a mapping as (name, key node, value node). With `known` empty any key is
  /// accepted; otherwise an unknown key is an error listing the known ones.
  public func mapping(_ node: Node, _ field: String, known: Set<String>) throws(ConfigurationError) -> [(String, Node, Node)] {
    guard let mapping = node.mapping else { throw error(node, field, "expected a mapping of keys to values") }
    var entries: [(String, Node, Node)] = []
    for (key, value) in mapping {
      guard let name = key.string else { throw error(key, field, "keys must be text") }
      let path = field.isEmpty ? name : "\(field).\(name)"
      guard known.isEmpty || known.contains(name) else {
        throw error(key, path, "unknown key (known here: \(known.sorted().joined(separator: ", ")))")
      }
      entries.append((name, key, value))
    }
    return entries
  }

  public func string(_ node: Node, _ field: String) throws(ConfigurationError) -> String {
    guard let text = node.scalar?.string else { throw error(node, field, "expected a single value") }
    return text
  }

  /// A list of values; a single value is a list of one.
  public func strings(_ node: Node, _ field: String) throws(ConfigurationError) -> [String] {
    if node.scalar != nil { return [try string(node, field)] }
    guard let sequence = node.sequence else { throw error(node, field, "expected a list") }
    var values: [String] = []
    for item in sequence { values.append(try string(item, field)) }
    return values
  }

  public func bool(_ node: Node, _ field: String) throws(ConfigurationError) -> Bool {
    let text = try string(node, field)
    guard let flag = Bool(text) else { throw error(node, field, "expected true or false, got '\(text)'") }
    return flag
  }

  /// A duration with a unit; zero only where `allowZero` (a delay that may be none).
  public func duration(_ node: Node, _ field: String, allowZero: Bool = false) throws(ConfigurationError) -> Duration {
    let text = try string(node, field)
    guard let duration = Self.duration(text, allowZero: allowZero) else {
      let kind = allowZero ? "a duration" : "a positive duration"
      throw error(node, field, "expected \(kind) like 50ms, 2s or 1m, got '\(text)'")
    }
    return duration
  }

  /// A positive (or, with `allowZero`, zero) duration written with a unit: `50ms`, `2s`,
  /// `1.5m`, `1h`, `0s`.
  public static func duration(_ text: String, allowZero: Bool = false) -> Duration? {
    let units: [(String, Duration)] = [("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600))]
    for (suffix, unit) in units where text.hasSuffix(suffix) {
      if let value = Double(text.dropLast(suffix.count)), value > 0 || (allowZero && value == 0), value.isFinite { return unit * value }
    }
    return nil
  }
}

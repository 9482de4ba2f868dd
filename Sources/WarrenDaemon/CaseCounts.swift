public import WarrenSession

/// A count for every case of `Case`, zero for those never counted, coded as one JSON object keyed
/// by the cases' raw values (`{"agent_failed":0,"disconnected":2,…}`): a case added to the enum
/// is counted, reported and documented by its raw value with no other edit.
public struct CaseCounts<Case: CaseIterable & Hashable & RawRepresentable & Sendable>: Codable, Sendable, Equatable,
  CustomStringConvertible
where Case.RawValue == String {
  private var counts: [Case: Int]

  public init(_ counts: [Case: Int] = [:]) {
    self.counts = counts.filter { $0.value != 0 }
  }

  /// The count of one case.
  public subscript(_ key: Case) -> Int {
    get { counts[key] ?? 0 }
    set { counts[key] = newValue == 0 ? nil : newValue }
  }

  /// The cases counted, in the enum's order: `peer_restarted 2, stalled 1` (`none` for none).
  public var description: String {
    let counted = Case.allCases.filter { self[$0] != 0 }.map { "\($0.rawValue) \(self[$0])" }
    return counted.isEmpty ? "none" : counted.joined(separator: ", ")
  }

  /// Every count added up.
  public var total: Int { counts.values.reduce(0, +) }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Case.allCases { try container.encode(self[key], forKey: Key(key.rawValue)) }
  }

  /// Reads the raw values as keys, whether or not the decoder converted them from snake case
  /// first (the control socket's decoder does); a case missing from the object counts zero.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    var counts: [Case: Int] = [:]
    for key in Case.allCases {
      for name in [key.rawValue, Self.camelCase(key.rawValue)] {
        if let count = try container.decodeIfPresent(Int.self, forKey: Key(name)) { counts[key] = count }
      }
    }
    self.init(counts)
  }

  private static func camelCase(_ snake: String) -> String {
    let words = snake.split(separator: "_")
    return (words.prefix(1) + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }).joined()
  }

  private struct Key: CodingKey {
    let stringValue: String
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.init(stringValue) }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
  }
}

/// A peer's session restarts by cause (docs/session.md, "Restarts that converge").
public typealias RestartCounts = CaseCounts<RestartCause>

/// Messages from a peer dropped before they reached its session, by reason (docs/session.md).
public typealias DroppedMessageCounts = CaseCounts<DroppedMessageReason>

/// A transport address: an IPv4 or IPv6 address and a port — a candidate's address (RFC 8445
/// §5.1), a STUN attribute's (RFC 8489 §14.1), a socket's. Every layer names endpoints with it.
public struct TransportAddress: Hashable, Sendable, CustomStringConvertible {
  public enum IP: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    /// The address bytes in network order.
    public var bytes: [UInt8] {
      switch self {
      case .v4(let a): return withUnsafeBytes(of: a.bigEndian) { Array($0) }
      case .v6(let hi, let lo): return withUnsafeBytes(of: hi.bigEndian) { Array($0) } + withUnsafeBytes(of: lo.bigEndian) { Array($0) }
      }
    }

    /// From 4 or 16 network-order bytes.
    public init?(bytes: some Collection<UInt8>) {
      let b = Array(bytes)
      func word(_ range: Range<Int>) -> UInt64 { b[range].reduce(0) { $0 << 8 | UInt64($1) } }
      switch b.count {
      case 4: self = .v4(UInt32(word(0..<4)))
      case 16: self = .v6(word(0..<8), word(8..<16))
      default: return nil
      }
    }

    /// Parses dotted IPv4 or RFC 4291 text IPv6 (with `::`, and a trailing dotted IPv4).
    public init?(_ text: some StringProtocol) {
      let text = String(text)
      if !text.contains(":") {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
          guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
          value = value << 8 | UInt32(byte)
        }
        self = .v4(value)
        return
      }
      var groups: [UInt16] = []
      var tail: [UInt16] = []
      var sawGap = false
      // At most one "::" (":::" counts as two).
      let characters = Array(text)
      var gaps: [Int] = []
      for index in characters.indices.dropLast() where characters[index] == ":" && characters[index + 1] == ":" {
        gaps.append(index)
      }
      guard gaps.count <= 1 else { return nil }
      let halves = gaps.first.map { [String(characters[..<$0]), String(characters[($0 + 2)...])] } ?? [text]
      func parse(_ part: String) -> [UInt16]? {
        guard !part.isEmpty else { return [] }
        var out: [UInt16] = []
        let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
        for (index, piece) in pieces.enumerated() {
          if index == pieces.count - 1, piece.contains("."), case .v4(let v4)? = IP(piece) {
            out += [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
          } else {
            guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
            out.append(group)
          }
        }
        return out
      }
      guard let head = parse(halves[0]) else { return nil }
      groups = head
      if halves.count == 2 {
        sawGap = true
        guard let rest = parse(halves[1]) else { return nil }
        tail = rest
      }
      if sawGap {
        guard groups.count + tail.count <= 7 else { return nil }
        groups += [UInt16](repeating: 0, count: 8 - groups.count - tail.count) + tail
      }
      guard groups.count == 8 else { return nil }
      let words = groups.map(UInt64.init)
      self = .v6(
        words[0] << 48 | words[1] << 32 | words[2] << 16 | words[3],
        words[4] << 48 | words[5] << 32 | words[6] << 16 | words[7])
    }

    public var description: String {
      switch self {
      case .v4(let a):
        return "\(a >> 24).\((a >> 16) & 0xff).\((a >> 8) & 0xff).\(a & 0xff)"
      case .v6(let hi, let lo):
        let groups = (0..<4).map { UInt16(truncatingIfNeeded: hi >> (48 - 16 * $0)) }
          + (0..<4).map { UInt16(truncatingIfNeeded: lo >> (48 - 16 * $0)) }
        // RFC 5952: the longest run (two or more) of zero groups becomes "::".
        var best = (start: -1, length: 0)
        var index = 0
        while index < 8 {
          if groups[index] == 0 {
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > best.length && end - index >= 2 { best = (index, end - index) }
            index = end
          } else {
            index += 1
          }
        }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        if best.start < 0 { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.length)..<8)
      }
    }

    public var isIPv4: Bool { if case .v4 = self { true } else { false } }

    /// 127.0.0.0/8 or ::1: this host's own (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3).
    public var isLoopback: Bool {
      switch self {
      case .v4(let a): a >> 24 == 127
      case .v6(let hi, let lo): hi == 0 && lo == 1
      }
    }
  }

  public var ip: IP
  public var port: UInt16

  public init(ip: IP, port: UInt16) {
    self.ip = ip
    self.port = port
  }

  /// Parses `IP:PORT`, with IPv6 in brackets (`[::1]:51820`): the form `description` writes.
  public init?(parsing text: some StringProtocol) {
    let text = Substring(text)
    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
    var host = text[..<colon]
    if host.hasPrefix("[") {
      guard host.hasSuffix("]") else { return nil }
      host = host.dropFirst().dropLast()
    }
    guard let ip = IP(host) else { return nil }
    self.init(ip: ip, port: port)
  }

  public var description: String {
    ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
  }
}

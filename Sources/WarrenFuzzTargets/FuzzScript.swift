/// Reads a fuzz input as a script of steps, for targets that hold state across inputs from a
/// peer or a server (a TURN client, an ICE agent): each step is one control byte and a chunk
/// whose length the next byte gives (clipped to what is left).
struct FuzzScript {
  private var bytes: ArraySlice<UInt8>

  init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

  var isEmpty: Bool { bytes.isEmpty }

  mutating func byte() -> UInt8? { bytes.popFirst() }

  /// A chunk of up to 255 bytes, its length taken from the input.
  mutating func chunk() -> [UInt8] {
    guard let count = bytes.popFirst() else { return [] }
    let taken = bytes.prefix(Int(count))
    bytes = bytes.dropFirst(taken.count)
    return Array(taken)
  }

  /// Everything left.
  mutating func rest() -> [UInt8] {
    defer { bytes = [] }
    return Array(bytes)
  }
}

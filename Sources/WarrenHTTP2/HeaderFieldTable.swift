/// HPACK's dynamic table (RFC 7541 §2.3.2, §4): the fields the peer's encoder chose to index,
/// newest first, within a size the decoder's SETTINGS_HEADER_TABLE_SIZE allows.
///
/// Storage grows with the entries actually inserted (most gRPC clients index a handful of short
/// fields), rather than being reserved for the whole allowed size up front.
struct HeaderFieldTable {
  /// Oldest first; index 1 of the dynamic table is the last element.
  private var entries: [(name: String, value: String)] = []
  /// The sum of the entries' sizes (name and value lengths plus 32 each, §4.1).
  private(set) var size = 0
  /// The size the encoder chose (§4.2), at most `limit`.
  private(set) var maximumSize: Int
  /// SETTINGS_HEADER_TABLE_SIZE as the decoder announced it.
  let limit: Int

  init(limit: Int) {
    self.limit = limit
    self.maximumSize = limit
  }

  var count: Int { entries.count }

  /// The entry at dynamic index `index` (1 is the newest).
  subscript(index: Int) -> (name: String, value: String)? {
    guard index >= 1, index <= entries.count else { return nil }
    return entries[entries.count - index]
  }

  static func size(name: String, value: String) -> Int { name.utf8.count + value.utf8.count + 32 }

  /// Adds a field, evicting the oldest as needed; a field larger than the table empties it (§4.4).
  mutating func insert(name: String, value: String) {
    let entrySize = Self.size(name: name, value: value)
    evict(toFit: maximumSize - entrySize)
    guard entrySize <= maximumSize else { return }
    entries.append((name, value))
    size += entrySize
  }

  /// A dynamic table size update (§6.3).
  mutating func resize(to newSize: Int) throws(HPACKError) {
    guard newSize <= limit else { throw .tableSizeUpdateAboveLimit(newSize, limit: limit) }
    maximumSize = newSize
    evict(toFit: newSize)
  }

  private mutating func evict(toFit target: Int) {
    var evicted = 0
    while size > max(target, 0), evicted < entries.count {
      size -= Self.size(name: entries[evicted].name, value: entries[evicted].value)
      evicted += 1
    }
    if evicted > 0 { entries.removeFirst(evicted) }
    if entries.isEmpty { entries = [] }
  }
}

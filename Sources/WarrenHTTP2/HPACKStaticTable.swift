/// HPACK's static table (RFC 7541 Appendix A): index 1 is the first entry.
enum HPACKStaticTable {
  static let entries: [(name: String, value: String)] = [
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
    (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
    (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
    ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
    ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""), ("etag", ""),
    ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""), ("if-modified-since", ""),
    ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""),
    ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""),
    ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""), ("set-cookie", ""),
    ("strict-transport-security", ""), ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""),
    ("www-authenticate", ""),
  ]

  /// The index of the first entry with `name`, for a literal with an indexed name.
  static let nameIndex: [String: Int] = {
    var index: [String: Int] = [:]
    for (position, entry) in entries.enumerated() where index[entry.name] == nil { index[entry.name] = position + 1 }
    return index
  }()

  /// The index of the entry that is exactly `name: value`, for the few with a value.
  static func index(name: String, value: String) -> Int? {
    guard !value.isEmpty, let first = nameIndex[name] else { return nil }
    var position = first - 1
    while position < entries.count, entries[position].name == name {
      if entries[position].value == value { return position + 1 }
      position += 1
    }
    return nil
  }
}

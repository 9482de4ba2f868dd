import Testing
import WarrenCluster

@Suite("Cluster bus frames: the text of a PostgreSQL notification")
struct BusFrameTests {
  @Test("an inline frame is w1, 16 hex digits of origin, the time, and the envelope in base64")
  func inlineBytes() throws {
    let frame = BusFrame(origin: 0xab, sentAtMicroseconds: 1_796_205_847_000_001, body: .inline([0x0a, 0x20, 0xff]))
    #expect(frame.text == "w1 00000000000000ab 1796205847000001 CiD/")
    #expect(try BusFrame(parsing: frame.text) == frame)
  }

  @Test("a spilled frame names its row")
  func spilledBytes() throws {
    let frame = BusFrame(origin: .max, sentAtMicroseconds: -5, body: .spilled(9_000_000_000))
    #expect(frame.text == "w1 ffffffffffffffff -5 @9000000000")
    #expect(try BusFrame(parsing: frame.text) == frame)
  }

  @Test("the largest inline envelope with the longest header stays under PostgreSQL's 8000-byte limit; one byte more spills")
  func payloadLimit() {
    let largest = BusFrame(
      origin: .max, sentAtMicroseconds: .min, body: .inline([UInt8](repeating: 0xff, count: BusFrame.maxInlineEnvelopeBytes)))
    #expect(largest.text.utf8.count <= BusFrame.maxPayloadBytes)
    #expect(largest.text.utf8.count >= BusFrame.maxPayloadBytes - 4)  // Not a byte wasted beyond base64's rounding.
    #expect(BusFrame.maxInlineEnvelopeBytes == 5967)
  }

  @Test("anything else on the channel is refused with what is wrong", arguments: [
    ("", "expected 4 space-separated fields"),
    ("w1 00000000000000ab 1 CiD/ extra", "expected 4 space-separated fields"),
    ("w2 00000000000000ab 1 CiD/", "unknown frame version 'w2'"),
    ("w1 ab 1 CiD/", "origin 'ab' is not 16 hex digits"),
    ("w1 0000000000000g0b 1 CiD/", "origin '0000000000000g0b' is not 16 hex digits"),
    ("w1 +000000000000abc 1 CiD/", "is not 16 hex digits"),
    ("w1 00000000000000ab soon CiD/", "sending time 'soon' is not an integer"),
    ("w1 00000000000000ab 1 @0", "spill row '@0' is not a positive integer"),
    ("w1 00000000000000ab 1 @x", "spill row '@x' is not a positive integer"),
    ("w1 00000000000000ab 1 not*base64", "the envelope is not base64"),
    ("w1 00000000000000ab 1 ", "the envelope is not base64"),
  ])
  func malformed(text: String, reason: String) {
    #expect {
      try BusFrame(parsing: text)
    } throws: { error in
      "\(error)".hasPrefix("malformed cluster bus frame: ") && "\(error)".contains(reason)
    }
  }
}

@Suite("--cluster URLs")
struct ClusterURLTests {
  @Test("user, host, port, database, TLS mode and channel; defaults for the last three")
  func parses() throws {
    let url = try ClusterURL("postgres://warren@db.example.net/signal")
    #expect(url == (try ClusterURL("postgresql://warren@db.example.net:5432/signal?sslmode=prefer&channel=warren_signal")))
    #expect(url.description == "postgres://warren@db.example.net:5432/signal?sslmode=prefer&channel=warren_signal")
    let local = try ClusterURL("postgres://w@[::1]:6432/db?sslmode=disable&channel=mesh_2")
    #expect(local.host == "::1" && local.port == 6432 && local.tls == .disable && local.channel == "mesh_2")
    #expect(url.rootCertificates == nil)
    let privateCA = try ClusterURL("postgres://w@db/signal?sslmode=require&sslrootcert=/etc/warren/pg-ca.pem")
    #expect(privateCA.tls == .require && privateCA.rootCertificates == "/etc/warren/pg-ca.pem")
    #expect(privateCA.description == "postgres://w@db:5432/signal?sslmode=require&sslrootcert=/etc/warren/pg-ca.pem&channel=warren_signal")
  }

  @Test("mistakes are named", arguments: [
    ("grpc://warren@db/signal", "is not a postgres:// URL"),
    ("postgres://warren:secret@db/signal", "not in the URL"),
    ("postgres://db/signal", "names no user"),
    ("postgres://warren@db", "names no database"),
    ("postgres://warren@db/signal?sslmode=verify-full", "sslmode must be disable, prefer or require"),
    ("postgres://warren@db/signal?channel=Mesh", "channel must be"),
    ("postgres://warren@db/signal?channel=1mesh", "channel must be"),
    ("postgres://warren@db/signal?pool=3", "unknown parameter pool"),
    ("postgres://warren@db/signal?sslrootcert=ca.pem", "sslrootcert must be an absolute path"),
  ])
  func refused(text: String, reason: String) {
    #expect {
      try ClusterURL(text)
    } throws: { error in
      "\(error)".contains(reason)
    }
  }
}

/// STUN attribute types used by ICE and TURN. Types below 0x8000 are comprehension-required: an
/// agent that does not know one must reject the request (RFC 8489 §14).
public struct STUNAttributeType: Hashable, Sendable, CustomStringConvertible {
  public let rawValue: UInt16

  public init(_ rawValue: UInt16) { self.rawValue = rawValue }

  // RFC 8489 §18.3
  public static let mappedAddress = STUNAttributeType(0x0001)
  public static let username = STUNAttributeType(0x0006)
  public static let messageIntegrity = STUNAttributeType(0x0008)
  public static let errorCode = STUNAttributeType(0x0009)
  public static let unknownAttributes = STUNAttributeType(0x000a)
  public static let realm = STUNAttributeType(0x0014)
  public static let nonce = STUNAttributeType(0x0015)
  public static let messageIntegritySHA256 = STUNAttributeType(0x001c)
  public static let passwordAlgorithm = STUNAttributeType(0x001d)
  public static let userhash = STUNAttributeType(0x001e)
  public static let xorMappedAddress = STUNAttributeType(0x0020)
  public static let passwordAlgorithms = STUNAttributeType(0x8002)
  public static let alternateDomain = STUNAttributeType(0x8003)
  public static let software = STUNAttributeType(0x8022)
  public static let alternateServer = STUNAttributeType(0x8023)
  public static let fingerprint = STUNAttributeType(0x8028)
  // RFC 8445 §16.1
  public static let priority = STUNAttributeType(0x0024)
  public static let useCandidate = STUNAttributeType(0x0025)
  public static let iceControlled = STUNAttributeType(0x8029)
  public static let iceControlling = STUNAttributeType(0x802a)
  // RFC 8656 §18
  public static let channelNumber = STUNAttributeType(0x000c)
  public static let lifetime = STUNAttributeType(0x000d)
  public static let xorPeerAddress = STUNAttributeType(0x0012)
  public static let data = STUNAttributeType(0x0013)
  public static let xorRelayedAddress = STUNAttributeType(0x0016)
  public static let requestedAddressFamily = STUNAttributeType(0x0017)
  public static let evenPort = STUNAttributeType(0x0018)
  public static let requestedTransport = STUNAttributeType(0x0019)
  public static let dontFragment = STUNAttributeType(0x001a)
  public static let reservationToken = STUNAttributeType(0x0022)

  /// Types 0x0000–0x7FFF must be understood (RFC 8489 §14).
  public var isComprehensionRequired: Bool { rawValue < 0x8000 }

  public var description: String {
    let names: [UInt16: String] = [
      0x0001: "MAPPED-ADDRESS", 0x0006: "USERNAME", 0x0008: "MESSAGE-INTEGRITY", 0x0009: "ERROR-CODE",
      0x000a: "UNKNOWN-ATTRIBUTES", 0x0014: "REALM", 0x0015: "NONCE", 0x001c: "MESSAGE-INTEGRITY-SHA256",
      0x001d: "PASSWORD-ALGORITHM", 0x001e: "USERHASH", 0x0020: "XOR-MAPPED-ADDRESS", 0x8002: "PASSWORD-ALGORITHMS",
      0x8003: "ALTERNATE-DOMAIN", 0x8022: "SOFTWARE", 0x8023: "ALTERNATE-SERVER", 0x8028: "FINGERPRINT",
      0x0024: "PRIORITY", 0x0025: "USE-CANDIDATE", 0x8029: "ICE-CONTROLLED", 0x802a: "ICE-CONTROLLING",
      0x000c: "CHANNEL-NUMBER", 0x000d: "LIFETIME", 0x0012: "XOR-PEER-ADDRESS", 0x0013: "DATA",
      0x0016: "XOR-RELAYED-ADDRESS", 0x0017: "REQUESTED-ADDRESS-FAMILY", 0x0018: "EVEN-PORT",
      0x0019: "REQUESTED-TRANSPORT", 0x001a: "DONT-FRAGMENT", 0x0022: "RESERVATION-TOKEN",
    ]
    return names[rawValue] ?? "attribute 0x\(String(rawValue, radix: 16))"
  }
}

/// One attribute: its type and raw value (without padding).
public struct STUNAttribute: Hashable, Sendable {
  public var type: STUNAttributeType
  public var value: [UInt8]

  public init(_ type: STUNAttributeType, _ value: [UInt8]) {
    self.type = type
    self.value = value
  }
}

/// A STUN method (RFC 8489 §5, §18.1; TURN's in RFC 8656 §17).
public struct STUNMethod: Hashable, Sendable, CustomStringConvertible {
  /// The 12-bit method number.
  public let rawValue: UInt16

  public init(_ rawValue: UInt16) { self.rawValue = rawValue & 0x0fff }

  public static let binding = STUNMethod(0x001)
  public static let allocate = STUNMethod(0x003)
  public static let refresh = STUNMethod(0x004)
  public static let send = STUNMethod(0x006)
  public static let data = STUNMethod(0x007)
  public static let createPermission = STUNMethod(0x008)
  public static let channelBind = STUNMethod(0x009)

  public var description: String {
    switch self {
    case .binding: "Binding"
    case .allocate: "Allocate"
    case .refresh: "Refresh"
    case .send: "Send"
    case .data: "Data"
    case .createPermission: "CreatePermission"
    case .channelBind: "ChannelBind"
    default: "method 0x\(String(rawValue, radix: 16))"
    }
  }
}

/// A STUN message class (RFC 8489 §5).
public enum STUNClass: UInt8, Hashable, Sendable, CustomStringConvertible {
  case request = 0b00
  case indication = 0b01
  case successResponse = 0b10
  case errorResponse = 0b11

  public var description: String {
    switch self {
    case .request: "request"
    case .indication: "indication"
    case .successResponse: "success response"
    case .errorResponse: "error response"
    }
  }
}

/// The 14-bit message type: method bits M0–M11 with the class bits C0 (bit 4) and C1 (bit 8)
/// interleaved (RFC 8489 §5, figure 3).
public struct STUNMessageType: Hashable, Sendable, CustomStringConvertible {
  public var method: STUNMethod
  public var messageClass: STUNClass

  public init(_ method: STUNMethod, _ messageClass: STUNClass) {
    self.method = method
    self.messageClass = messageClass
  }

  /// Splits the 16-bit type field (its top two bits must already be known to be zero).
  public init(rawValue: UInt16) {
    let m = rawValue
    method = STUNMethod((m & 0x000f) | ((m & 0x00e0) >> 1) | ((m & 0x3e00) >> 2))
    messageClass = STUNClass(rawValue: UInt8(((m >> 4) & 0b01) | ((m >> 7) & 0b10)))!
  }

  public var rawValue: UInt16 {
    let m = method.rawValue
    let c = UInt16(messageClass.rawValue)
    return (m & 0x000f) | ((m & 0x0070) << 1) | ((m & 0x0f80) << 2) | ((c & 0b01) << 4) | ((c & 0b10) << 7)
  }

  public var description: String { "\(method) \(messageClass)" }
}

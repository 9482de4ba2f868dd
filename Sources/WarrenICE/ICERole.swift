/// Which side drives nomination (RFC 8445 §6.1.1). Between Warren peers the smaller public key
/// controls; a foreign peer may disagree, which role-conflict resolution settles.
public enum ICERole: Hashable, Sendable, CustomStringConvertible {
  case controlling
  case controlled

  public var description: String { self == .controlling ? "controlling" : "controlled" }
}

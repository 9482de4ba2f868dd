/// The connection states of wire.md's `ConnectionState`, with the same numbers.
public enum ICEConnectionState: Int, Hashable, Sendable, CustomStringConvertible {
  case new = 0
  case checking = 1
  case connected = 2
  case completed = 3
  case failed = 4
  case disconnected = 5
  case closed = 6

  public var description: String {
    switch self {
    case .new: "new"
    case .checking: "checking"
    case .connected: "connected"
    case .completed: "completed"
    case .failed: "failed"
    case .disconnected: "disconnected"
    case .closed: "closed"
    }
  }
}

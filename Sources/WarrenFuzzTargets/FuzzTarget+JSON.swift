internal import WarrenDaemon
internal import WarrenKubernetes

extension FuzzTarget {
  /// One request line on the control socket (docs/control.md), as the control server decodes it.
  static let controlRequest = FuzzTarget(name: "control-request", summary: "one control-socket request line (JSON)") { bytes in
    (try? ControlCoding.decode(ControlRequest.self, from: bytes)) == nil ? .refused : .accepted
  }

  /// One line of a Kubernetes watch stream (docs/kubernetes.md): the event and the
  /// SignalingEnvelope object in it, whose envelope must be a well-formed one.
  static let watchEvent = FuzzTarget(name: "watch-event", summary: "one Kubernetes watch event line (JSON)") { bytes in
    guard let event = try? WatchEvent(json: bytes) else { return .refused }
    switch event {
    case .added(_, .success(let object)), .modified(_, .success(let object)):
      _ = try? object.envelope()
    default: break
    }
    return .accepted
  }
}

internal import WarrenICE
internal import WarrenNFTables
internal import WarrenPrimitives
internal import WarrenWireGuard

/// Moves one WireGuard peer onto the data path of a newly selected pair, in the order that loses
/// nothing in flight (docs/wireguard.md, "Switching"): to the kernel path the redirection first,
/// then WireGuard's endpoint; to the userspace path WireGuard's endpoint first, then the
/// redirection goes. The two effects are injected, so the order is tested without a kernel.
struct DataPathSwitch {
  /// Sets (or with `nil` removes) the peer's redirection in Warren's table.
  var redirect: (PortRedirect?) throws(NFTablesError) -> Void
  /// Points WireGuard's peer at an endpoint.
  var pointWireGuard: (TransportAddress) async throws(WireGuardError) -> Void

  /// What a move did: the data path now in use, and a redirection that could not be removed.
  struct Outcome {
    var choice: DataPathChoice
    var staleRedirect: NFTablesError?
  }

  /// - Parameters:
  ///   - proxy: the peer's proxy address (WireGuard's endpoint on the userspace path).
  ///   - wireGuardPort: WireGuard's listen port.
  func move(
    over pair: CandidatePair, choice: DataPathChoice, proxy: TransportAddress, wireGuardPort: UInt16, peer: String
  ) async throws(WireGuardError) -> Outcome {
    var choice = choice
    if choice.path == .kernel {
      do {
        try redirect(PortRedirect(local: pair.local.base, remote: pair.remote.address, wireGuardPort: wireGuardPort, peer: peer))
      } catch {
        choice = .kernelUnavailable("\(error)")
      }
    }
    if choice.path == .kernel {
      try await pointWireGuard(pair.remote.address)
      return Outcome(choice: choice)
    }
    try await pointWireGuard(proxy)
    do {
      try redirect(nil)
      return Outcome(choice: choice)
    } catch {
      return Outcome(choice: choice, staleRedirect: error)
    }
  }
}

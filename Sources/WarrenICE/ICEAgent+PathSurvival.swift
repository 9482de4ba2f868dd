public import WarrenPrimitives

/// Path survival (docs/ice.md): while traffic flows over the selected pair it is checked fast and
/// a standby pair of another kind is kept validated; when the selected pair dies the standby takes
/// over at once — the controlling side renominates it (RFC 8445 §8.1.1 allows one nomination; the
/// peers this works with follow a second one), the controlled side switches its own direction
/// and follows the renomination when it comes. While a relayed pair carries what a direct one
/// did, the failed direct pairs are checked every second, so that traffic returns when it heals.

extension ICEAgent {
  /// Fast checks, the standby's checks and the heal checks that are due at `now`, while traffic
  /// flows; when it has stopped, nothing but consent.
  mutating func maintainLiveness(now: Instant) {
    guard let id = selectedPair else { return }
    guard liveness.isActive(now: now) else {
      if liveness.trafficUntil != nil { liveness.quiet() }
      return
    }
    if let due = liveness.nextCheck, now >= due {
      sendCheck(on: id, useCandidate: false, now: now, kind: .liveness, timeout: liveness.checkTimeout(configuration))
      liveness.nextCheck = now + liveness.checkInterval(configuration)
    }
    if let due = liveness.nextStandbyCheck, now >= due {
      liveness.nextStandbyCheck = now + configuration.standbyCheckInterval
      chooseStandby()
      if let standby = liveness.standby {
        sendCheck(on: standby, useCandidate: false, now: now, kind: .liveness, timeout: configuration.livenessMaximumTimeout)
      }
    }
    if let due = liveness.nextHealCheck, now >= due {
      liveness.nextHealCheck = now + configuration.healCheckInterval
      // The best few direct pairs that failed: one check each, not retransmitted.
      let failed = orderedPairs.filter { !$0.isRelayed && $0.state == .failed }.prefix(4)
      for pair in failed {
        sendCheck(on: pair.id, useCandidate: false, now: now, kind: .liveness, timeout: configuration.livenessMaximumTimeout)
      }
    }
  }

  /// Picks the standby: the best valid pair that would survive what kills the selected one —
  /// relayed where the selected one is direct (or the other way round), or through another
  /// network on either side (another local address, or another address of the peer). Reports a
  /// change.
  mutating func chooseStandby() {
    guard let selected = selectedPair.flatMap({ checkList[$0] }) else { return }
    let best = orderedPairs.first { pair in
      pair.state == .succeeded && pair.id != selected.id
        && (pair.isRelayed != selected.isRelayed || pair.local.base.ip != selected.local.base.ip
          || pair.remote.address.ip != selected.remote.address.ip)
    }
    guard best?.id != liveness.standby else { return }
    liveness.standby = best?.id
    liveness.standbyMisses = 0
    events.append(.standbyChanged(best))
  }

  /// A fast check on `id` went unanswered past its timeout.
  mutating func livenessCheckMissed(on id: CandidatePair.ID, now: Instant) {
    if id == selectedPair {
      let wasDead = liveness.isDead(configuration)
      liveness.missed()
      if !wasDead, liveness.isDead(configuration) { selectedPairDied(now: now) }
    } else if id == liveness.standby {
      liveness.standbyMisses += 1
      guard liveness.standbyMisses >= configuration.livenessMisses else { return }
      // Not a standby any more; the next one is chosen at its next check.
      checkList[id]?.state = .failed
      liveness.standby = nil
      events.append(.standbyChanged(nil))
    }
  }

  /// The selected pair stopped answering under traffic: the standby takes over, or the first pair
  /// that answers from now on; toward a peer that does not follow renominations the agent fails,
  /// so that its owner restarts at once rather than after the Disconnected timeout.
  mutating func selectedPairDied(now: Instant) {
    guard let id = selectedPair, let pair = checkList[id] else { return }
    events.append(.pathLost(pair))
    if peerFollowsRenomination == false {
      transactions = [:]
      setState(.failed)
      return
    }
    checkList[id]?.state = .failed
    // Pairs that have not answered lately may have died with it: checked again before they are
    // trusted. Fresh ones (the standby among them) stay valid.
    let fresh = now - configuration.standbyCheckInterval * 2
    let stale = checkList.rearm { candidate in
      candidate.id != id && candidate.state == .succeeded && (candidate.statistics.lastResponseReceived ?? now - .seconds(3600)) < fresh
    }
    if stale > 0, nextCheck == nil { nextCheck = now }
    chooseStandby()
    if let standby = liveness.standby {
      takeOver(standby, now: now)
    } else {
      liveness.lost = true
      setState(.disconnected)
    }
  }

  /// Local candidates on `bases` are gone (an address vanished from this host, a TURN allocation
  /// on it with it): their pairs go, and a selected pair among them is replaced at once by the
  /// best pair that answered lately, or by the first pair that answers from now on.
  public mutating func removeLocalCandidates(onBases bases: Set<TransportAddress>, now: Instant) {
    guard !bases.isEmpty, state != .closed else { return }
    localCandidates.removeAll { bases.contains($0.base) }
    let removed = checkList.remove { bases.contains($0.id.local) }
    guard !removed.isEmpty else { return }
    transactions = transactions.filter { !bases.contains($0.value.pair.local) }
    if let standby = liveness.standby, bases.contains(standby.local) {
      liveness.standby = nil
      events.append(.standbyChanged(nil))
    }
    guard let selected = selectedPair, let pair = removed.first(where: { $0.id == selected }) else {
      watch(now: now)
      return
    }
    events.append(.pathLost(pair))
    selectedPair = nil
    consent.forget()
    if peerFollowsRenomination == false {
      transactions = [:]
      setState(.failed)
      return
    }
    watch(now: now)
    let fresh = now - configuration.standbyCheckInterval * 2
    let best = orderedPairs.first { ($0.statistics.lastResponseReceived ?? fresh) > fresh && $0.state == .succeeded }
    if let best {
      takeOver(best.id, now: now)
    } else {
      liveness.lost = true
      if checkList.rearm(where: { $0.state != .inProgress }) > 0, nextCheck == nil { nextCheck = now }
      setState(.disconnected)
    }
  }

  /// The peer's data arrives over `id` while the selected pair is failing: the peer moved; its
  /// pair takes over (``acceptData(count:from:to:now:)``). Not toward a peer that ignores
  /// renominations, nor onto the pair this side just renominated away from: a peer's data there
  /// after ours moved is no sign of anything.
  mutating func peerMoved(to id: CandidatePair.ID, now: Instant) {
    guard peerFollowsRenomination != false, renominationFollowUp?.left != id, state != .failed else { return }
    takeOver(id, now: now)
    wakeRequested = true
  }

  /// This host did not run for `gap` (suspended, stopped): after longer than the Disconnected
  /// timeout a selected path cannot be trusted (NATs forget idle mappings within a minute or two,
  /// and the peer has been restarting meanwhile), so the agent fails and its owner starts over at
  /// once; after a shorter gap the selected pair is checked fast.
  mutating func resumed(after gap: Duration, now: Instant) {
    events.append(.resumed(after: gap))
    if gap > configuration.disconnectedTimeout, selectedPair != nil || liveness.lost {
      transactions = [:]
      setState(.failed)
    } else {
      watch(now: now)
    }
  }

  /// The owner saw this host's network change (a route, a link) without losing an address the
  /// agent uses: the selected pair is checked fast for a while.
  public mutating func networkChanged(now: Instant) {
    watch(now: now)
  }

  /// Something suggests the network changed under the selected pair (the peer trickled a new
  /// candidate, or checks from an address it never signaled; ours changed): the pair is
  /// checked fast for a while, as under traffic, so that a dead one is found in half a second.
  mutating func watch(now: Instant) {
    guard selectedPair != nil || liveness.lost else { return }
    if liveness.noteTraffic(now: now, window: configuration.trafficWindow) { wakeRequested = true }
  }

  /// Moves the traffic to `id`: the controlling side selects and renominates it, the controlled
  /// side selects it for its own direction and follows the peer's nomination when it comes.
  mutating func takeOver(_ id: CandidatePair.ID, now: Instant) {
    if role == .controlling {
      checkList[id]?.nominated = true
      select(id, now: now)
      sendCheck(on: id, useCandidate: true, now: now)
    } else {
      select(id, now: now)
    }
    liveness.nextHealCheck = checkList[id]?.isRelayed == true && liveness.isActive(now: now) ? now + configuration.healCheckInterval : nil
  }

  /// A success response on `id` (any kind of check): an answer on the selected pair keeps it
  /// alive; while the selected pair is dead and had no standby, the first pair that answers
  /// takes over.
  mutating func livenessAnswered(on id: CandidatePair.ID, roundTripTime: Duration?, now: Instant) {
    if id == selectedPair {
      let wasDead = liveness.isDead(configuration)
      liveness.answered(roundTripTime: roundTripTime)
      // Alive after all (a late answer): consent decides again.
      if wasDead, state == .disconnected, consent.standing(now: now, configuration: configuration) == .fresh {
        setState(role == .controlling ? .completed : .connected)
      }
    } else if id == liveness.standby {
      liveness.standbyMisses = 0
    } else if liveness.lost, checkList[id]?.state == .succeeded {
      takeOver(id, now: now)
    }
  }
}

internal import WarrenPrimitives

/// The check list of one data stream with one component (RFC 8445 §6.1.2): the candidate pairs
/// and their states, ordered by pair priority (§6.1.2.3), at most ``maximumPairs`` of them
/// (§6.1.2.5), and the queue of triggered checks (§7.3.1.4) that go before the ordinary ones.
struct CheckList: Sendable {
  /// Pairs kept at most; beyond, the lowest-priority failed pair goes, else the lowest-priority
  /// waiting one (RFC 8445 §6.1.2.5 prunes by priority alone; but a peer that moves again and
  /// again leaves failed pairs behind that it cannot withdraw, and pruning by priority alone then
  /// dropped each new pair the moment it came, so that a host on its tenth network stayed
  /// relayed).
  static let maximumPairs = 100

  private(set) var pairs: [CandidatePair.ID: CandidatePair] = [:]
  private var triggered: [CandidatePair.ID] = []

  /// A pair, changed in place (`_modify` yields the dictionary's storage).
  subscript(id: CandidatePair.ID) -> CandidatePair? {
    get { pairs[id] }
    _modify { yield &pairs[id] }
  }

  /// Counts an application datagram sent over pair `id`. The data path counts every datagram, and
  /// not through the subscript: its `_modify` moves the pair (a large value) into the accessor's
  /// frame, which the runtime then allocates on the heap, once per datagram. The values view
  /// yields the element where it lies.
  mutating func countSent(byteCount: Int, on id: CandidatePair.ID) {
    guard let index = pairs.index(forKey: id) else { return }
    pairs.values[index].statistics.packetsSent += 1
    pairs.values[index].statistics.bytesSent += byteCount
  }

  /// Counts an application datagram received over pair `id` if `accepts` lets the pair carry it
  /// (see ``countSent(byteCount:on:)``); false if not, or if there is no such pair. One lookup.
  mutating func countReceived(byteCount: Int, on id: CandidatePair.ID, if accepts: (CandidatePair) -> Bool) -> Bool {
    guard let index = pairs.index(forKey: id), accepts(pairs.values[index]) else { return false }
    pairs.values[index].statistics.packetsReceived += 1
    pairs.values[index].statistics.bytesReceived += byteCount
    return true
  }

  var isEmpty: Bool { pairs.isEmpty }

  /// Every pair, in no particular order.
  var all: Dictionary<CandidatePair.ID, CandidatePair>.Values { pairs.values }

  /// Whether some pair is valid (its check succeeded).
  var anySucceeded: Bool { pairs.values.contains { $0.state == .succeeded } }

  /// Every pair, best first for the side that controls or not (§6.1.2.3).
  func ordered(controlling: Bool) -> [CandidatePair] {
    pairs.values.sorted { $0.priority(controlling: controlling) > $1.priority(controlling: controlling) }
  }

  /// Pairs `local` with `remote` (same address family only), unless the pair exists. Beyond
  /// ``maximumPairs`` a pair goes, never `keeping` (the selected one).
  mutating func add(local: Candidate, remote: Candidate, controlling: Bool, keeping: CandidatePair.ID?) {
    guard local.address.ip.isIPv4 == remote.address.ip.isIPv4 else { return }
    let pair = CandidatePair(local: local, remote: remote)
    guard pairs[pair.id] == nil else { return }
    pairs[pair.id] = pair
    guard pairs.count > Self.maximumPairs else { return }
    let ordered = ordered(controlling: controlling)
    if let worst = ordered.last(where: { $0.state == .failed && $0.id != keeping }) ?? ordered.last(where: { $0.state == .waiting }) {
      pairs[worst.id] = nil
    }
  }

  /// A signaled candidate takes the place of the peer-reflexive one learned at its address.
  mutating func replaceRemote(with candidate: Candidate) {
    for id in pairs.keys where id.remote == candidate.address { pairs[id]?.remote = candidate }
  }

  /// Queues a triggered check on `id` (§7.3.1.4), once.
  mutating func trigger(_ id: CandidatePair.ID) {
    if !triggered.contains(id) { triggered.append(id) }
  }

  /// The next triggered pair still worth a check: not failed, or nominated.
  mutating func nextTriggered() -> CandidatePair.ID? {
    while !triggered.isEmpty {
      let id = triggered.removeFirst()
      if let pair = pairs[id], pair.state != .failed || pair.nominated { return id }
    }
    return nil
  }

  /// The best pair waiting for its ordinary check (§6.1.4.2).
  func nextWaiting(controlling: Bool) -> CandidatePair? {
    ordered(controlling: controlling).first { $0.state == .waiting }
  }

  /// Failed pairs that `include` picks are Waiting again, to be checked anew; returns how many.
  mutating func rearmFailed(where include: (CandidatePair) -> Bool) -> Int {
    rearm { $0.state == .failed && include($0) }
  }

  /// Pairs that `include` picks are Waiting again, to be checked anew; returns how many.
  mutating func rearm(where include: (CandidatePair) -> Bool) -> Int {
    var rearmed = 0
    for (id, pair) in pairs where include(pair) {
      pairs[id]?.state = .waiting
      rearmed += 1
    }
    return rearmed
  }

  /// Removes the pairs that `include` picks (their local candidate is gone); returns them.
  mutating func remove(where include: (CandidatePair) -> Bool) -> [CandidatePair] {
    let removed = pairs.values.filter(include)
    for pair in removed { pairs[pair.id] = nil }
    triggered.removeAll { pairs[$0] == nil }
    return removed
  }

  /// No more triggered checks (the agent closed).
  mutating func clearTriggered() {
    triggered = []
  }

  /// Every pair forgotten (ICE restart).
  mutating func removeAll() {
    pairs = [:]
    triggered = []
  }
}

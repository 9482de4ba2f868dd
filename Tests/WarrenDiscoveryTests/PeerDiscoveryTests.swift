import Foundation
import SwiftProtobuf
import Testing
import WarrenCrypto
import WarrenDiscovery
import WarrenPrimitives
import WarrenWire

/// A node's discovery driven in virtual time: the test plays the community.
struct Node {
  var discovery: PeerDiscovery
  var now: ContinuousClock.Instant
  let start: ContinuousClock.Instant
  var actions: [(at: Duration, action: PeerDiscovery.Action)] = []

  init(key: Key, settings: PeerDiscovery.Settings = Node.settings(), seed: UInt64 = 1) {
    discovery = PeerDiscovery(ourKey: key, settings: settings, seed: seed)
    now = .now
    start = now
  }

  static func settings(_ address: String = "10.99.0.1") -> PeerDiscovery.Settings {
    PeerDiscovery.Settings(name: "node", allowedIPs: [IPPrefix("\(address)/32")!])
  }

  mutating func drain() {
    while let action = discovery.pollAction() { actions.append((now - start, action)) }
  }

  /// Runs timers until `limit` after the start.
  mutating func run(until limit: Duration) {
    drain()
    while let due = discovery.pollTimeout(), due - start <= limit {
      now = max(now, due)
      discovery.handleTimeout(now: now)
      drain()
    }
    now = max(now, start + limit)
  }

  mutating func receive(_ announcement: Announcement, from sender: Key) {
    discovery.receive(announcement, sender: sender, now: now)
    drain()
  }

  /// When each announcement went out, in seconds since the start.
  var announcementTimes: [Double] {
    actions.compactMap { if case .announce = $0.action { Double($0.at.components.seconds) + Double($0.at.components.attoseconds) / 1e18 } else { nil } }
  }
}

func key(_ n: UInt8) -> Key { PrivateKey(try! Key(bytes: [UInt8](repeating: n, count: 32))).publicKey }

func add(_ key: Key, _ address: String = "10.99.0.2", name: String = "peer") -> Announcement {
  Announcement(change: .add, name: name, key: key, allowedIPs: [IPPrefix("\(address)/32")!])
}

@Suite("Peer discovery in virtual time")
struct PeerDiscoveryTests {
  @Test("unheard, a node repeats its ADD with back-off (1 s doubling to 30 s, ±20 %), then every 5 min once answered")
  func announcementSchedule() {
    var node = Node(key: key(1))
    node.discovery.start(now: node.now)
    node.run(until: .seconds(120))
    let times = node.announcementTimes
    #expect(times.first == 0)
    let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
    for (index, gap) in gaps.enumerated() {
      let nominal = min(30, pow(2, Double(index)))
      #expect(gap >= nominal * 0.8 - 1e-9 && gap <= nominal * 1.2 + 1e-9, "gap \(index): \(gap) s")
    }
    #expect(times.count >= 7 && times.count <= 10)
    // Heard from: the answers after about 20 ms and 1 s, then the periodic announcement.
    node.receive(add(key(2)), from: key(2))
    let heardAt = 120.0
    node.run(until: .seconds(1200))
    let later = node.announcementTimes.filter { $0 > heardAt }
    #expect(later.count >= 3)
    #expect(later.first.map { $0 - heardAt >= 0.016 && $0 - heardAt <= 0.024 } == true, "\(later)")
    #expect(later.dropFirst().first.map { $0 - heardAt >= 0.8 && $0 - heardAt <= 1.2 } == true, "\(later)")
    for (next, previous) in zip(later.dropFirst(3), later.dropFirst(2)) {
      #expect(next - previous >= 240 && next - previous <= 360, "\(later)")
    }
  }

  @Test("a newcomer is added with its allowed IPs and answered once, also when several arrive together")
  func newcomers() {
    var node = Node(key: key(1))
    node.discovery.start(now: node.now)
    node.drain()
    node.actions = []
    node.receive(add(key(2), "10.99.0.2"), from: key(2))
    node.receive(add(key(3), "10.99.0.3"), from: key(3))
    node.receive(add(key(2), "10.99.0.2"), from: key(2))  // repeated: nothing new
    let added = node.actions.compactMap { if case .addPeer(let peer) = $0.action { peer.key } else { nil } }
    #expect(added == [key(2), key(3)])
    node.run(until: .seconds(5))
    // The answer at once and the one a second later, each once for both newcomers.
    #expect(node.announcementTimes.count == 2)
    #expect(node.discovery.learned[key(3)]?.allowedIPs == [IPPrefix("10.99.0.3/32")!])
  }

  /// cunicu creates a userspace interface without a key and sets it afterwards, so its one
  /// announcement at start is an UPDATE (no public_key_new) from a member nobody knows yet; and it
  /// announces only once, just after subscribing: a member that started earlier is heard by it only
  /// through that member's answer, which must come at once, not after the second cunicu waits;
  /// and when cunicu's interface has its key from the start it announces ADD before subscribing, so
  /// the answer is repeated once a second later.
  @Test("cunicu's start: an UPDATE from an unknown member adds it; it is answered within 25 ms and again after ~1 s")
  func cunicuStartsWithUpdate() {
    var node = Node(key: key(1))
    node.discovery.start(now: node.now)
    node.run(until: .seconds(30))
    node.actions = []
    let heardAt = 30.0
    node.receive(Announcement(change: .update, name: "cunicu-host", key: key(2), allowedIPs: [IPPrefix("10.237.1.2/32")!]), from: key(2))
    let added = node.actions.compactMap { if case .addPeer(let peer) = $0.action { peer } else { nil } }
    #expect(added.map(\.key) == [key(2)])
    #expect(added.first?.allowedIPs == [IPPrefix("10.237.1.2/32")!])
    node.run(until: .seconds(32))
    let answers = node.announcementTimes.filter { $0 > heardAt }
    #expect(answers.count == 2, "\(answers)")
    #expect(answers.first.map { $0 - heardAt <= 0.025 } == true, "\(answers)")
    #expect(answers.last.map { $0 - heardAt >= 0.8 } == true, "\(answers)")
  }

  /// cunicu killed (no REMOVE) and started again announces once more, as a member already known
  /// here, and knows nobody: it must be answered, or it hears of us only at our periodic
  /// announcement, minutes later. A Warren member's repeated announcements need no answer.
  @Test("a known cunicu announcing again has restarted and is answered at once, a storm once per 5 s; a known Warren is not")
  func restartedCunicuIsAnswered() {
    var node = Node(key: key(1))
    node.discovery.start(now: node.now)
    let cunicu = Announcement(change: .update, name: "cunicu-host", key: key(2), allowedIPs: [IPPrefix("10.237.1.2/32")!], repeatsUntilAnswered: false)
    node.receive(cunicu, from: key(2))
    node.receive(add(key(3)), from: key(3))
    node.run(until: .seconds(5))
    // (cunicu's own answer to us, a second after it learned us: answered.)
    node.receive(Announcement(change: .add, name: "cunicu-host", key: key(2), allowedIPs: [IPPrefix("10.237.1.2/32")!], repeatsUntilAnswered: false), from: key(2))
    node.run(until: .seconds(10))
    let before = node.announcementTimes.count
    // The Warren member repeats itself: nothing to answer.
    node.receive(add(key(3)), from: key(3))
    node.run(until: .seconds(20))
    #expect(node.announcementTimes.count == before)
    // cunicu starts again: answered at once (and once more about a second later).
    node.receive(cunicu, from: key(2))
    node.run(until: .seconds(25))
    let answers = node.announcementTimes.filter { $0 >= 20 }
    #expect(answers.first.map { $0 - 20 <= 0.025 } == true, "\(answers)")
    #expect(answers.count == 2 && answers.last.map { $0 >= 20.8 && $0 <= 21.2 } == true, "\(answers)")
    // A storm of its announcements (every 50 ms for 10 s): the answers it has left go at once,
    // then one per 5 s.
    node.run(until: .seconds(40))
    let before40 = node.announcementTimes.count
    for step in 0..<200 {
      node.run(until: .milliseconds(40_000 + step * 50))
      node.receive(cunicu, from: key(2))
    }
    node.run(until: .seconds(56))
    let stormAnswers = node.announcementTimes.count - before40
    #expect(stormAnswers >= 3 && stormAnswers <= 8, "\(node.announcementTimes.filter { $0 >= 40 })")
    #expect(node.actions.filter { if case .addPeer = $0.action { true } else { false } }.count == 2)
  }

  /// cunicu, after its interface got a new key, announces UPDATE from the new key but keeps its
  /// sessions subscribed to the old one (its epdisc never resubscribes) until it restarts: messages
  /// for it must go to the old key too. A Warren moves its subscriptions with its key.
  @Test("cunicu's key change: the new peer replaces the old and remembers the old key; a Warren's does not")
  func cunicuKeyChangeKeepsOldKey() {
    var node = Node(key: key(1))
    node.discovery.start(now: node.now)
    node.receive(Announcement(change: .add, name: "c", key: key(2), allowedIPs: [IPPrefix("10.237.1.2/32")!], repeatsUntilAnswered: false), from: key(2))
    node.receive(
      Announcement(change: .update, name: "c", key: key(2), newKey: key(3), allowedIPs: [IPPrefix("10.237.1.3/32")!], repeatsUntilAnswered: false),
      from: key(3))
    #expect(node.discovery.learned[key(2)] == nil)
    #expect(node.discovery.learned[key(3)]?.previousKey == key(2))
    #expect(node.actions.contains { if case .removePeer(let removed, _) = $0.action { removed == key(2) } else { false } })
    node.receive(add(key(4)), from: key(4))
    node.receive(Announcement(change: .update, name: "w", key: key(4), newKey: key(5), allowedIPs: [IPPrefix("10.99.0.5/32")!]), from: key(5))
    #expect(node.discovery.learned[key(5)] != nil)
    #expect(node.discovery.learned[key(5)]?.previousKey == nil)
  }

  @Test("own announcements are ignored; REMOVE removes a learned peer, an unknown one is refused")
  func removeAndSelf() {
    var node = Node(key: key(1))
    node.receive(add(key(1)), from: key(1))
    #expect(node.actions.isEmpty)
    node.receive(add(key(2)), from: key(2))
    var remove = add(key(2))
    remove.change = .remove
    node.receive(remove, from: key(2))
    node.receive(remove, from: key(2))
    let kinds = node.actions.map { action -> String in
      switch action.action {
      case .addPeer: "add"
      case .removePeer: "remove"
      case .refused(let refusal, _): refusal.reason.rawValue
      default: "other"
      }
    }
    #expect(kinds == ["add", "remove", "unknown_peer"])
    #expect(node.discovery.learned.isEmpty)
  }

  @Test("UPDATE with a new key replaces the learned peer; a changed allowed IP updates it")
  func update() {
    var node = Node(key: key(1))
    node.receive(add(key(2)), from: key(2))
    node.receive(add(key(2), "10.99.0.20"), from: key(2))
    let update = Announcement(change: .update, name: "peer", key: key(2), newKey: key(3), allowedIPs: [IPPrefix("10.99.0.20/32")!])
    node.receive(update, from: key(3))
    let kinds = node.actions.compactMap { action -> String? in
      switch action.action {
      case .addPeer(let peer): "add \(peer.key == key(2) ? 2 : 3)"
      case .updatePeer(let peer): "update \(peer.allowedIPs)"
      case .removePeer(let removed, _): "remove \(removed == key(2) ? 2 : 3)"
      default: nil
      }
    }
    #expect(kinds == ["add 2", "update [10.99.0.20/32]", "remove 2", "add 3"])
    #expect(Set(node.discovery.learned.keys) == [key(3)])
  }

  @Test("deny and accept lists, max_peers and keys configured by hand: refused, counted, nothing changed")
  func limits() {
    var settings = Node.settings()
    settings.deny = [key(2)]
    settings.maxPeers = 2
    var node = Node(key: key(1), settings: settings)
    node.discovery.configuredByHand = [key(3)]
    node.receive(add(key(2)), from: key(2))
    node.receive(add(key(3)), from: key(3))
    var remove = add(key(3))
    remove.change = .remove
    node.receive(remove, from: key(3))
    for n in 4...6 { node.receive(add(key(UInt8(n)), "10.99.0.\(n)"), from: key(UInt8(n))) }
    #expect(node.discovery.refusalCounts == [.notAccepted: 1, .configuredByHand: 2, .tooManyPeers: 1])
    #expect(Set(node.discovery.learned.keys) == [key(4), key(5)])
    var accepting = Node(key: key(1), settings: { var s = Node.settings(); s.accept = [key(7)]; return s }())
    accepting.receive(add(key(8)), from: key(8))
    accepting.receive(add(key(7)), from: key(7))
    #expect(Set(accepting.discovery.learned.keys) == [key(7)])
  }

  @Test("without peer_expiry learned peers stay; with it, a peer not announced for that long is removed")
  func expiry() {
    var keeping = Node(key: key(1))
    keeping.receive(add(key(2)), from: key(2))
    keeping.run(until: .seconds(7200))
    #expect(keeping.discovery.learned.count == 1)

    var settings = Node.settings()
    settings.peerExpiry = .seconds(900)
    var node = Node(key: key(1), settings: settings)
    node.receive(add(key(2)), from: key(2))
    node.receive(add(key(3), "10.99.0.3"), from: key(3))
    node.run(until: .seconds(600))
    node.receive(add(key(3), "10.99.0.3"), from: key(3))  // key 3 announces again at 600 s
    node.run(until: .seconds(1000))
    #expect(Set(node.discovery.learned.keys) == [key(3)])
    let removed = node.actions.compactMap { if case .removePeer(let key, _) = $0.action { ($0.at, key) } else { nil } }
    #expect(removed.map(\.1) == [key(2)] && removed.first?.0 == .seconds(900))
  }

  @Test("a key change announces UPDATE from the new key with the old one in public_key; leaving announces REMOVE")
  func ownKeyChange() {
    var node = Node(key: key(1))
    node.discovery.start(now: node.now)
    node.drain()
    node.discovery.keyChanged(to: key(9), now: node.now)
    node.drain()
    guard case .announce(let update) = node.actions.last?.action else { Issue.record("no UPDATE"); return }
    #expect(update.change == .update && update.key == key(1) && update.newKey == key(9))
    #expect(node.discovery.leaving().change == .remove && node.discovery.leaving().key == key(9))
  }
}

@Suite("Announcements checked against their sender")
struct AnnouncementTests {
  func description(_ change: Cunicu_Pdisc_PeerDescriptionChange = .add, key: Key = key(2), newKey: Key? = nil, allowed: [String] = ["10.99.0.2/32"]) -> Cunicu_Pdisc_PeerDescription {
    var description = Cunicu_Pdisc_PeerDescription()
    description.change = change
    description.name = "bob"
    description.publicKey = Data(key.bytes)
    if let newKey { description.publicKeyNew = Data(newKey.bytes) }
    description.allowedIps = allowed
    return description
  }

  func reason(_ description: Cunicu_Pdisc_PeerDescription, sender: Key) -> DiscoveryRefusal.Reason? {
    do {
      _ = try Announcement(checking: description, sender: sender)
      return nil
    } catch {
      return error.reason
    }
  }

  @Test("each kind of bad announcement is refused with its own reason")
  func refusals() {
    #expect(reason(description(), sender: key(2)) == nil)
    #expect(reason(description(), sender: key(3)) == .senderMismatch)
    #expect(reason(description(.add, newKey: key(3)), sender: key(3)) == .keyChangeWithoutUpdate)
    #expect(reason(description(.update, newKey: key(3)), sender: key(3)) == nil)
    #expect(reason(description(.update, newKey: key(3)), sender: key(2)) == .senderMismatch)
    #expect(reason(description(allowed: ["10.99.0.2/32", "10.99.0.300/32"]), sender: key(2)) == .malformedAllowedIP)
    #expect(reason(description(allowed: ["10.99.0.2/33"]), sender: key(2)) == .malformedAllowedIP)
    #expect(reason(description(allowed: ["10.99.0.2"]), sender: key(2)) == .malformedAllowedIP)
    #expect(reason(description(allowed: (0..<65).map { "10.0.\($0).1/32" }), sender: key(2)) == .oversized)
    var long = description()
    long.name = String(repeating: "n", count: 254)
    #expect(reason(long, sender: key(2)) == .oversized)
    var badKey = description()
    badKey.publicKey = Data([1, 2, 3])
    #expect(reason(badKey, sender: key(2)) == .malformed)
    var badHost = description()
    badHost.hosts["h"] = { var a = Cunicu_Pdisc_PeerAddresses(); var ip = Cunicu_Core_IPAddress(); ip.addr = Data([1, 2, 3]); a.addresses = [ip]; return a }()
    #expect(reason(badHost, sender: key(2)) == .malformed)
  }

  @Test("an announcement's wire form: field for field, and read back the same")
  func wireForm() throws {
    let announcement = Announcement(
      change: .update, name: "alice", key: key(1), newKey: key(2),
      allowedIPs: [IPPrefix("10.99.0.1/32")!, IPPrefix("fd00::1/128")!],
      hosts: ["alice.mesh": [TransportAddress.IP("10.99.0.1")!]])
    var build = Cunicu_BuildInfo()
    build.version = "1.0"
    let wire = announcement.description(buildInfo: build)
    #expect(wire.change == .update && wire.name == "alice")
    #expect(wire.publicKey == Data(key(1).bytes) && wire.publicKeyNew == Data(key(2).bytes))
    #expect(wire.allowedIps == ["10.99.0.1/32", "fd00::1/128"])
    #expect(wire.hosts["alice.mesh"]?.addresses.map(\.addr) == [Data([10, 99, 0, 1])])
    #expect(wire.buildInfo.version == "1.0")
    #expect(wire.buildInfo.builtBy == "warren")
    let bytes: [UInt8] = try wire.serializedBytes()
    let back = try Announcement(checking: Cunicu_Pdisc_PeerDescription(serializedBytes: bytes), sender: key(2))
    #expect(back == announcement)
  }
}

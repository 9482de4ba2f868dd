internal import Logging
public import NIOCore
internal import WarrenICE
internal import WarrenICEEndpoint
internal import WarrenSTUN
internal import WarrenTURN
internal import WarrenPrimitives

/// The driver's data path: application datagrams out over the selected pair (gathered into GSO
/// trains, framed as ChannelData on a relayed pair) and in from the sockets (handed on without
/// a copy), with the agent counting each and naming its pair. Everything else goes through
/// ``ICEDriver/update(_:)``.
extension ICEDriver {
  /// Datagrams gathered for one GSO send from a host candidate's socket.
  struct HeldTrain {
    var local: TransportAddress
    var remote: TransportAddress
    var channel: any Channel
    var destination: SocketAddress
    var sender: GSOSender
    var train: DatagramTrain
  }

  /// Sends an application datagram over the selected pair, flushed at once; false before one is
  /// selected.
  @discardableResult
  public func send(_ data: [UInt8]) -> Bool {
    defer { flush() }
    return send(ByteBuffer(bytes: data))
  }

  /// Sends an application datagram over the selected pair without flushing its socket: a
  /// caller that sends a burst (a proxy's read of several datagrams) calls ``flush()`` after it,
  /// and the burst leaves in one system call: one GSO train (``DatagramTrain``) on a direct
  /// pair where the kernel takes them, else one `sendmmsg`. False before a pair is selected.
  ///
  /// The data path: the agent counts the datagram and names the pair; nothing else changes, so
  /// there is nothing to drain and no timer to move (a later keepalive deadline only makes the
  /// armed timer fire early and find nothing due).
  @discardableResult
  public func send(_ buffer: ByteBuffer) -> Bool {
    enum Route { case none, held(full: HeldTrain?), direct(Outbound, ByteBuffer), relayed(Transmit) }
    var wake = false
    defer {
      // Traffic started: the agent's first fast check is due before the armed timer.
      if wake { update { _, _ in } }
    }
    let route: Route = state.withLock { state in
      guard !state.closed, let route = state.endpoint.route(byteCount: buffer.readableBytes, now: clock.now) else { return .none }
      wake = state.endpoint.agent.takeWakeRequest()
      // Which socket sends what to where: the datagram itself from a host candidate's socket, or
      // behind a ChannelData header to the TURN server from the socket of its allocation.
      let local: TransportAddress
      let remote: TransportAddress
      var header: UInt32?
      switch route {
      case .direct(let from, let to):
        (local, remote) = (from, to)
      case .channel(let base, let server, let channel):
        (local, remote) = (base, server)
        header = ChannelData.header(channel: channel, length: buffer.readableBytes)
      case .relayClient(let transmit):
        // A relay before its channel is bound, or over TCP or TLS: the TURN client sends it.
        return .relayed(Transmit(from: transmit.from, to: transmit.to, bytes: Array(buffer.readableBytesView)))
      }
      guard let channel = state.channels[local], let destination = state.destination(remote) else { return .none }
      guard let sender = state.senders[local], !state.gsoRefused.contains(local) else {
        state.unflushed[ObjectIdentifier(channel)] = channel
        let outbound = Outbound(channel: channel, sender: state.senders[local], remote: remote, destination: destination)
        return .direct(outbound, header.map { ChannelData.frame(buffer, header: $0) } ?? buffer)
      }
      if state.held.map({ $0.local == local && $0.remote == remote }) == true, state.held!.train.append(buffer, header: header) {
        return .held(full: nil)
      }
      let train = DatagramTrain(buffer, header: header)
      defer { state.held = HeldTrain(local: local, remote: remote, channel: channel, destination: destination, sender: sender, train: train) }
      return .held(full: state.held)
    }
    switch route {
    case .none:
      return false
    case .held(let full):
      if let full { send(full) }
    case .direct(let outbound, let datagram):
      send(datagram, outbound, flush: false)
    case .relayed(let transmit):
      update { state, now in state.endpoint.sendRelayed(transmit, now: now) }
    }
    return true
  }

  /// Sends what ``send(_:)-(ByteBuffer)`` held and flushes the sockets it wrote to.
  public func flush() {
    let (channels, held) = state.withLock { state in
      defer {
        state.unflushed.removeAll(keepingCapacity: true)
        state.held = nil
      }
      return (Array(state.unflushed.values), state.closed ? nil : state.held)
    }
    if let held { send(held) }
    for channel in channels { channel.flush() }
  }

  /// Sends a train in one system call (a lone datagram too, so that a burst keeps its order);
  /// through NIO, one datagram each, if the socket's buffer is full (NIO waits until it drains)
  /// or the kernel refuses the send: for a train, GSO on this route (said once, and that socket
  /// sends one by one from then on); for a lone datagram, that datagram (NIO says why).
  private func send(_ held: HeldTrain) {
    let train = held.train
    let outcome = held.sender.send(train.buffer, segmentSize: train.segmentSize, to: held.remote)
    switch outcome {
    case .sent:
      return
    case .wouldBlock:
      break
    case .refused:
      // A lone datagram the route refuses (no route, the address gone) is lost, as UDP loses it.
      guard train.count > 1 else { return }
      let local = held.local
      let (closed, first) = state.withLock { state in
        (state.closed, !state.closed && state.gsoRefused.insert(local).inserted)
      }
      if closed { return }  // the sockets are closing: nothing to send, nothing to say
      if first {
        logger.notice(
          "the kernel refused a UDP GSO send on this route; sending datagrams one by one on this socket",
          metadata: ["local": "\(held.local)", "remote": "\(held.remote)", "error": "\(outcome)", "segment": "\(train.segmentSize)"])
      }
    }
    // One by one, through the descriptor (which loses what the route refuses), or through NIO,
    // which waits for room in a full send buffer.
    let outbound = Outbound(channel: held.channel, sender: held.sender, remote: held.remote, destination: held.destination)
    var rest = train.buffer
    for _ in 0..<train.count {
      send(rest.readSlice(length: min(train.segmentSize, rest.readableBytes))!, outbound, flush: false)
    }
    held.channel.flush()
  }

  /// A datagram from one of the sockets, as read: application data goes on as the same buffer
  /// (no copy on the data path); STUN, TURN and `.data` events get bytes.
  func received(_ buffer: ByteBuffer, from remote: TransportAddress, to local: TransportAddress) {
    let isSTUN = STUNMessage.isSTUN(buffer.readableBytesView)
    // Answers to our own Binding requests to STUN servers never reach the agent.
    if isSTUN, let message = try? STUNMessage(parsing: Array(buffer.readableBytesView)), message.messageClass == .successResponse,
      pendingBindings.answer(message.transactionID, with: try? message.xorMappedAddress ?? message.mappedAddress)
    {
      return
    }
    enum Route { case drop, deliver(ByteBuffer), endpoint }
    var wake = false
    defer {
      // The agent moved the traffic to the pair this arrived on (the peer moved): drain it.
      if wake { update { _, _ in } }
    }
    let now = clock.now
    let route: Route = state.withLock { state in
      if state.closed { return .drop }
      defer { wake = state.endpoint.agent.takeWakeRequest() }
      if state.endpoint.isRelayServer(remote, at: local) {
        // Application data relayed to us on a bound channel goes on as a slice of what was
        // read; everything else from the TURN server goes through its client.
        guard onData != nil, let (channel, length) = try? ChannelData.header(of: buffer.readableBytesView),
          let (peer, relayed) = state.endpoint.channelPeer(server: remote, channel: channel),
          let data = buffer.getSlice(at: buffer.readerIndex + 4, length: length), !STUNMessage.isSTUN(data.readableBytesView)
        else { return .endpoint }
        return state.endpoint.acceptData(count: length, from: peer, to: relayed, now: now) ? .deliver(data) : .drop
      }
      if onData != nil && !isSTUN {
        return state.endpoint.acceptData(count: buffer.readableBytes, from: remote, to: local, now: now) ? .deliver(buffer) : .drop
      }
      return .endpoint
    }
    switch route {
    case .drop: return
    case .deliver(let data): onData?(data)
    case .endpoint: update { state, now in state.endpoint.receive(Array(buffer.readableBytesView), from: remote, to: local, now: now) }
    }
  }

  /// A socket's read burst ended: the receiver of `onData` may flush what it holds.
  func readComplete() {
    onDataBatchEnd?()
  }
}

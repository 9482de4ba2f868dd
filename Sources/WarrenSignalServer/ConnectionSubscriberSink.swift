internal import NIOCore
internal import NIOHTTP2
internal import WarrenWire

/// The sink of a Subscribe stream of the frame-level server: hands each envelope to the stream's
/// connection on its event loop (at once when the publisher runs there, else as one task), where
/// the stream's bounded queue is.
final class ConnectionSubscriberSink: SubscriberSink {
  private let connection: NIOLoopBound<SignalingConnection>
  private let stream: HTTP2StreamID

  init(connection: NIOLoopBound<SignalingConnection>, stream: HTTP2StreamID) {
    self.connection = connection
    self.stream = stream
  }

  func offer(_ envelope: Cunicu_Signaling_Envelope) -> SubscriberOffer {
    let loop = connection.eventLoop
    if loop.inEventLoop {
      connection.value.deliver(envelope, to: stream)
    } else {
      loop.execute { [connection, stream] in connection.value.deliver(envelope, to: stream) }
    }
    // Whether an older envelope had to go is known on the loop; the connection counts it there.
    return .queued
  }

  func finish() {
    connection.eventLoop.execute { [connection, stream] in connection.value.finishSubscription(stream) }
  }
}

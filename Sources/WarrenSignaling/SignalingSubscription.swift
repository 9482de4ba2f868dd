public import WarrenCrypto

/// The messages of one subscription, as an `AsyncSequence`.
///
/// The subscription ends (and the backend drops its server-side subscription when this was the
/// last one for the local key) when ``cancel()`` is called, when the task iterating it is
/// cancelled, when the subscription is no longer referenced, or when the backend closes.
public struct SignalingSubscription: AsyncSequence, Sendable {
  public typealias Element = OpenedEnvelope
  public typealias Failure = Never

  private let stream: AsyncStream<OpenedEnvelope>
  private let continuation: AsyncStream<OpenedEnvelope>.Continuation

  init(stream: AsyncStream<OpenedEnvelope>, continuation: AsyncStream<OpenedEnvelope>.Continuation) {
    self.stream = stream
    self.continuation = continuation
  }

  public func makeAsyncIterator() -> AsyncStream<OpenedEnvelope>.Iterator {
    stream.makeAsyncIterator()
  }

  /// Unsubscribes: no message arrives after this returns, and iteration ends once buffered
  /// messages have been read.
  public func cancel() {
    continuation.finish()
  }
}

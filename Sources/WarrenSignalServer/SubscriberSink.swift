public import WarrenWire

/// Where a ``SignalingRelay`` hands the envelopes published to one subscription: the queue of a
/// Subscribe stream. The relay calls it from whichever thread published, under no lock of its own
/// held; a sink never blocks.
public protocol SubscriberSink: AnyObject, Sendable {
  /// Takes one envelope for the subscriber, dropping the oldest queued if the queue is full.
  func offer(_ envelope: Cunicu_Signaling_Envelope) -> SubscriberOffer
  /// Ends the subscription's stream once what is queued has been written (graceful shutdown).
  func finish()
}

/// What became of an envelope offered to a ``SubscriberSink``.
public enum SubscriberOffer: Sendable {
  case queued
  /// Queued, and the oldest queued envelope was dropped to make room.
  case queuedPushingOutOldest
  /// The subscription had ended; nothing was queued.
  case finished
}

/// The sink of a subscription read as an async sequence: an `AsyncStream` that keeps the newest
/// envelopes.
final class StreamSink: SubscriberSink {
  private let continuation: SignalingRelay.Queue.Continuation

  init(_ continuation: SignalingRelay.Queue.Continuation) { self.continuation = continuation }

  func offer(_ envelope: Cunicu_Signaling_Envelope) -> SubscriberOffer {
    switch continuation.yield(envelope) {
    case .enqueued: .queued
    case .dropped: .queuedPushingOutOldest
    case .terminated: .finished
    @unknown default: .finished
    }
  }

  func finish() { continuation.finish() }
}

/// What the control plane asks a worker to do. Crosses the command ring; replies resume the caller's continuation.
/// Workers also send each other the cross-worker (pipe) commands at the end.
enum WorkerCommand: Sendable {
    case createTransport(TransportID, TransportParameters, localUfrag: String, localPassword: String,
                         reply: CheckedContinuation<Void, any Error>)
    /// New local ICE credentials and the peer's new ufrag (ICE restart); DTLS, SRTP and streams stay.
    case restartICE(TransportID, remoteUfrag: String, localUfrag: String, localPassword: String,
                    reply: CheckedContinuation<Void, any Error>)
    case addProducer(TransportID, ProducerID, ProducerParameters, reply: CheckedContinuation<Void, any Error>)
    /// A relay to another node (keys from the control plane; no ICE, no DTLS).
    case createRelay(TransportID, RelayParameters, reply: CheckedContinuation<Void, any Error>)
    /// A relay opened with `waitsForStart` starts sending (the other node has its end now).
    case startRelay(TransportID, reply: CheckedContinuation<Void, any Error>)
    /// Send a producer over a relay too, its layers under `ssrcs`; replies with the producer's parameters.
    case relayProducer(ProducerID, TransportID, ssrcs: [UInt32], reply: CheckedContinuation<ProducerParameters, any Error>)
    /// `piped` when the producer lives on another worker: this worker keeps a mirror of it fed by a pipe.
    case addConsumer(TransportID, ConsumerID, ConsumerParameters, piped: PipedProducer?, reply: CheckedContinuation<Void, any Error>)
    case closeProducer(ProducerID, reply: CheckedContinuation<Void, Never>)
    case closeConsumer(ConsumerID, reply: CheckedContinuation<Void, Never>)
    case closeTransport(TransportID, reply: CheckedContinuation<Void, Never>?)
    /// A viewer's wish (from the tile size it shows): at most this spatial and temporal layer.
    case setPreferredLayers(ConsumerID, spatial: Int, temporal: Int)
    /// Stop (true) or start again (false) forwarding a consumer's stream, e.g. because the viewer hides its tile.
    case setPaused(ConsumerID, Bool)
    case shutdown
    /// Copy a producer's packets into `tap` too (recording), and ask the publisher for a keyframe.
    case openTap(MediaTap, reply: CheckedContinuation<ProducerParameters, any Error>)
    /// Stop copying into the producer's tap.
    case closeTap(ProducerID)

    // Cross-worker fan-out: one reference per consumer on the other worker.
    /// To the producer's worker: copy its packets to `toWorker` too; replies with its parameters for the mirror.
    case openPipe(ProducerID, toWorker: Int, reply: CheckedContinuation<ProducerParameters, any Error>)
    /// To the producer's worker: one consumer on `toWorker` is gone (or was never added).
    case closePipe(ProducerID, toWorker: Int)
    /// To a mirror's worker: the producer closed; close the mirror and its consumers.
    case producerGone(ProducerID)
    /// To the producer's worker: a consumer on another worker needs a keyframe of this layer.
    case requestKeyframe(ProducerID, layer: Int)
    /// To a mirror's worker: the publisher's sender report for a layer (viewers' SRs are derived from it).
    case senderReport(ProducerID, layer: Int, ntp: UInt64, rtp: UInt32)
}

/// A producer as another worker mirrors it: what it sends, and the worker that receives it.
struct PipedProducer: Sendable {
    let parameters: ProducerParameters
    let home: Int
}

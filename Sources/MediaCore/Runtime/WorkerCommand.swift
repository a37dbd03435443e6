/// What the control plane asks a worker to do. Crosses the command ring; replies resume the caller's continuation.
enum WorkerCommand: Sendable {
    case createTransport(TransportID, TransportParameters, localUfrag: String, localPassword: String,
                         reply: CheckedContinuation<Void, any Error>)
    case addProducer(TransportID, ProducerID, ProducerParameters, reply: CheckedContinuation<Void, any Error>)
    case addConsumer(TransportID, ConsumerID, ConsumerParameters, reply: CheckedContinuation<Void, any Error>)
    case closeProducer(ProducerID, reply: CheckedContinuation<Void, Never>)
    case closeConsumer(ConsumerID, reply: CheckedContinuation<Void, Never>)
    case closeTransport(TransportID, reply: CheckedContinuation<Void, Never>?)
    /// A viewer's wish (from the tile size it shows): at most this spatial and temporal layer.
    case setPreferredLayers(ConsumerID, spatial: Int, temporal: Int)
    case shutdown
}

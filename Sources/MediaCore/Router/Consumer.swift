/// One outgoing copy of a producer to one subscriber: rewrites SSRC, payload type, sequence numbers and
/// header extensions into the subscriber's view, then the subscriber's transport encrypts it.
final class Consumer {
    let id: ConsumerID
    unowned let transport: WebRTCTransport
    unowned let producer: Producer
    let parameters: ConsumerParameters
    /// The MID value as bytes, written into the MID header extension when the subscriber negotiated it.
    let midBytes: [UInt8]

    /// Video starts at a keyframe: before it, the decoder can only show garbage or ask again.
    var waitingForKeyframe: Bool
    /// Added to the producer's sequence numbers; chosen at the first forwarded packet so that the subscriber
    /// sees a sequence starting at a random point, continuous from then on.
    var sequenceDelta: UInt16 = 0
    var started = false
    var initialSequence: UInt16
    var packetsSent: UInt64 = 0
    var octetsSent: UInt64 = 0
    var lastTimestamp: UInt32 = 0

    init(id: ConsumerID, transport: WebRTCTransport, producer: Producer, parameters: ConsumerParameters) {
        self.id = id
        self.transport = transport
        self.producer = producer
        self.parameters = parameters
        self.midBytes = Array(parameters.mid.utf8.prefix(16))
        self.waitingForKeyframe = producer.parameters.kind == .video
        self.initialSequence = UInt16.random(in: 1000...30000)
    }
}

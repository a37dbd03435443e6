@testable import MediaCore

/// A `MediaWorker` on memory I/O and a clock the test moves, driven from the test's own thread: no sockets, no
/// threads, no waiting (NIO's `EmbeddedChannel` for the media worker). Its peers are `LoopbackPeer`s whose
/// `MemoryPeerLink` hands datagrams to the worker's I/O and takes turns of the worker to get replies.
final class EmbeddedWorker {
    let io = MemoryDatagramIO()
    let clock = ManualClock()
    let worker: MediaWorker<MemoryDatagramIO, ManualClock>
    private let channel: EventChannel
    private(set) var events: [MediaEvent] = []
    private(set) var logLines: [String] = []
    private var nextID: UInt64 = 1
    private var nextPeerAddress: UInt32 = 0x0A00_0001

    init(configuration: MediaEngineConfiguration = MediaEngineConfiguration()) throws {
        var configuration = configuration
        configuration.poolSize = 512
        channel = try EventChannel(logHandler: { _ in })
        let certificate = try DTLSCertificate()
        fingerprint = certificate.fingerprint
        worker = try MediaWorker(index: 0, io: io, clock: clock, configuration: configuration,
                                 dtlsContext: try DTLSContext(certificate: certificate, profiles: configuration.srtpProfiles),
                                 events: channel)
    }

    let fingerprint: DTLSFingerprint

    /// One turn of the worker, then what it emitted collected into `events` and `logLines`.
    func turn() {
        worker.turn(readable: true)
        channel.drain { event in
            switch event {
            case .media(let media): events.append(media)
            case .log(let line): logLines.append(line)
            }
        }
    }

    /// Moves the clock and takes a turn.
    func advance(milliseconds: Int64) {
        clock.advance(milliseconds: milliseconds)
        turn()
    }

    /// A peer with its own address, connected to this worker through memory.
    func peer(ufrag: String) throws -> LoopbackPeer {
        let address = TransportAddress(ipv4: nextPeerAddress, port: 5000)
        nextPeerAddress += 1
        return try LoopbackPeer(link: MemoryPeerLink(worker: self, address: address), ufrag: ufrag)
    }

    /// What `MediaEngine.createTransport` does, on this worker.
    func createTransport(for peer: LoopbackPeer, room: String) throws -> TransportDescription {
        let id = TransportID(nextID << 8)
        nextID += 1
        let ufrag = "emb\(nextID)u", password = "embedded-password-\(nextID)-xxxx"
        try worker.createTransport(id, peer.parameters(room: room), localUfrag: ufrag, localPassword: password)
        let description = TransportDescription(id: id, localUfrag: ufrag, localPassword: password, fingerprint: fingerprint,
                                               candidateIP: "10.0.0.0", candidatePort: io.port)
        peer.remote = description
        return description
    }

    func addProducer(on transport: TransportID, _ parameters: ProducerParameters) throws -> ProducerID {
        let id = ProducerID(nextID << 8)
        nextID += 1
        try worker.addProducer(id, parameters, on: transport)
        return id
    }

    func addConsumer(on transport: TransportID, _ parameters: ConsumerParameters) throws -> ConsumerID {
        let id = ConsumerID(nextID << 8)
        nextID += 1
        try worker.addConsumer(id, parameters, on: transport, piped: nil)
        return id
    }
}

/// A peer's side of an `EmbeddedWorker`: what it sends is delivered to the worker's memory I/O from the peer's
/// address; receiving takes a worker turn and returns what the worker sent to that address.
final class MemoryPeerLink: PeerLink {
    unowned let worker: EmbeddedWorker
    let address: TransportAddress
    private var inbox: [[UInt8]] = []

    init(worker: EmbeddedWorker, address: TransportAddress) {
        self.worker = worker
        self.address = address
    }

    func send(_ bytes: UnsafeRawBufferPointer) {
        worker.io.deliver(bytes, from: address)
    }

    func receive() -> [UInt8]? {
        if inbox.isEmpty {
            worker.turn()
            inbox = worker.io.takeSent(to: address)
        }
        return inbox.isEmpty ? nil : inbox.removeFirst()
    }
}

import Atomics
import CMediaShims
import Glibc

public struct MediaEngineConfiguration: Sendable {
    /// Address the UDP media sockets bind to.
    public var bindHost: String = "127.0.0.1"
    /// First worker's UDP port; worker i listens on basePort + i. 0 lets the kernel choose (tests).
    public var basePort: UInt16 = 40000
    /// Addresses written into our host candidates, in order of preference (several when the server sits behind
    /// NAT for some users and not for others, or has an IPv4 and an IPv6 address); empty means bindHost. Each
    /// must be an IP address of a family the socket receives: IPv4 on an IPv4 socket, either on a socket bound
    /// to "::" (dual stack), IPv6 on one bound to another IPv6 address.
    public var announceIPs: [String] = []
    /// Passive ICE-TCP (RFC 6544) on a TCP port of the same number beside each worker's UDP port, for networks
    /// that let out only TCP. UDP stays preferred (`ICECandidate` priorities).
    public var iceTCP: Bool = true
    /// ICE-TCP connections one worker keeps at most; past it the oldest one that never completed an ICE check
    /// makes room, or the new one is refused.
    public var maxTCPConnectionsPerWorker: Int = 1024
    public var workers: Int = 1
    /// Seconds without a valid ICE consent check before a transport is closed (RFC 7675 says 30).
    public var consentTimeout: Double = 30
    /// SRTP profiles we accept, in order of preference.
    public var srtpProfiles: [SRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80]
    /// Packet buffers preallocated per worker.
    public var poolSize: Int = 8192
    /// Bytes of retransmission buffers (recent packets kept to answer viewers' NACKs) one worker may hold, and
    /// one publisher transport may take of them. A video layer takes 128 to 512 packets of
    /// `ProducerLayer.retransmissionSlotSize` bytes (0.2 to 0.8 MB; a simulcast camera 1.3 MB). Past either
    /// limit, a new producer's layers get no buffer: its viewers' NACKs go unanswered (logged, and counted in
    /// `MediaStats.retransmissionBuffersRefused`) while everything else works.
    public var retransmissionMemoryPerWorker: Int = 512 << 20
    public var retransmissionMemoryPerTransport: Int = 4 << 20
    /// Where workers' log lines go (called on the event thread, never on a packet thread).
    public var logHandler: @Sendable (String) -> Void = { line in sabha_write_stderr("sabha media: \(line)\n") }
    public init() {}
}

/// The control-plane face of MediaCore: creates transports, producers and consumers on the worker that owns
/// a room, and reports what happens to them. Every call is a command over a worker's lock-free ring.
/// With several workers, receive-only transports (WHEP viewers) are spread round-robin over all of them; a
/// consumer on another worker than its producer gets the packets through a `PacketPipe` between the two.
public final class MediaEngine: Sendable {
    public let configuration: MediaEngineConfiguration
    public let fingerprint: DTLSFingerprint
    /// The UDP port of worker 0 (useful when basePort was 0: the kernel chose it).
    public let port: UInt16
    /// Ports of all workers, in worker order.
    public let ports: [UInt16]

    private let certificate: DTLSCertificate
    private let handles: [WorkerHandle]
    private let channel: EventChannel
    private let launcher: Launcher
    private let nextID = ManagedAtomic<UInt64>(1)
    private let nextSpread = ManagedAtomic<Int>(0)
    private let stopped = ManagedAtomic<Bool>(false)

    public init(configuration: MediaEngineConfiguration) throws {
        guard configuration.workers >= 1 && configuration.workers <= 64 else {
            throw MediaError.configuration("workers must be between 1 and 64")
        }
        guard !configuration.srtpProfiles.isEmpty else { throw MediaError.configuration("no SRTP profile allowed") }
        guard configuration.consentTimeout > 0, configuration.consentTimeout <= 86_400 else {
            throw MediaError.configuration("consent timeout must be between 0 and 86400 seconds")
        }
        guard configuration.basePort == 0 || Int(configuration.basePort) + configuration.workers - 1 <= Int(UInt16.max) else {
            throw MediaError.configuration("ports \(configuration.basePort)...\(Int(configuration.basePort) + configuration.workers - 1) do not fit in 65535")
        }
        guard configuration.retransmissionMemoryPerWorker >= 0, configuration.retransmissionMemoryPerTransport >= 0 else {
            throw MediaError.configuration("retransmission memory limits must not be negative")
        }
        guard configuration.maxTCPConnectionsPerWorker >= 1 else {
            throw MediaError.configuration("maxTCPConnectionsPerWorker must be at least 1")
        }
        try Self.checkAnnounced(configuration.announceIPs, bindHost: configuration.bindHost)
        self.configuration = configuration
        if configuration.iceTCP { Self.raiseOpenFileLimit() }
        certificate = try DTLSCertificate()
        fingerprint = certificate.fingerprint
        let context = try DTLSContext(certificate: certificate, profiles: configuration.srtpProfiles)
        channel = try EventChannel(logHandler: configuration.logHandler)
        var workers: [UDPMediaWorker] = []
        for index in 0..<configuration.workers {
            let (socket, tcp) = try Self.bindSockets(configuration, port: configuration.basePort == 0 ? 0 : configuration.basePort + UInt16(index))
            workers.append(try UDPMediaWorker(index: index, io: socket, tcp: tcp, clock: SystemClock(),
                                              configuration: configuration, dtlsContext: context, events: channel))
        }
        // A pipe for each ordered pair of workers. Slots are touched only when used.
        if workers.count > 1 {
            let pipes: [[PacketPipe?]] = workers.map { from in
                workers.map { to in from.index == to.index ? nil : PacketPipe(capacity: Self.pipeSlots) }
            }
            for worker in workers {
                worker.links = ContiguousArray(workers.map { other in
                    WorkerLink(outgoing: pipes[worker.index][other.index], incoming: pipes[other.index][worker.index],
                               commands: other.commands, signal: other.commandSignal)
                })
            }
        }
        handles = workers.map {
            WorkerHandle(commands: $0.commands, signal: $0.commandSignal, counters: $0.counters, port: $0.io.port,
                         tcp: $0.sender.tcp != nil)
        }
        ports = handles.map(\.port)
        port = ports[0]
        launcher = Launcher(workers)
    }

    /// Starts the worker threads and the event thread. Idempotent.
    public func start() throws {
        guard let workers = launcher.take() else { return }
        let channel = self.channel
        let stopped = self.stopped
        for worker in workers {
            let owned = WorkerOwnership(worker)
            try WorkerThread.start(name: "sabha-media-\(worker.index)") { owned.worker.run() }
        }
        try WorkerThread.start(name: "sabha-events") {
            channel.pump(until: { stopped.load(ordering: .relaxed) })
        }
    }

    /// Creates an ICE-lite + DTLS transport on the worker that owns `parameters.room`.
    public func createTransport(_ parameters: TransportParameters) async throws -> TransportDescription {
        let worker = parameters.receiveOnly && handles.count > 1
            ? nextSpread.loadThenWrappingIncrement(ordering: .relaxed) % handles.count
            : workerIndex(room: parameters.room)
        let id = TransportID(allocateID(worker: worker))
        let ufrag = Self.randomICEString(length: 8)
        let password = Self.randomICEString(length: 24)
        try await send(to: worker) { reply in
            .createTransport(id, parameters, localUfrag: ufrag, localPassword: password, reply: reply)
        }
        return description(id, worker: worker, ufrag: ufrag, password: password)
    }

    /// ICE restart (RFC 8445 section 9, RFC 8839 section 4.4.1.1.1): the peer offered new ICE credentials for a
    /// transport (its path failed, or it moved networks). The transport gets new local credentials, answers
    /// checks signed with them, and keeps its DTLS association, SRTP keys, producers and consumers; media goes on
    /// to the selected address until the peer nominates a new pair. Returns the description for the answer.
    public func restartICE(_ transport: TransportID, remoteUfrag: String, remotePassword: String) async throws -> TransportDescription {
        let worker = Self.worker(of: transport.rawValue)
        guard worker < handles.count else { throw MediaError.unknownTransport(transport) }
        let ufrag = Self.randomICEString(length: 8)
        let password = Self.randomICEString(length: 24)
        try await send(to: worker) { reply in
            .restartICE(transport, remoteUfrag: remoteUfrag, localUfrag: ufrag, localPassword: password, reply: reply)
        }
        return description(transport, worker: worker, ufrag: ufrag, password: password)
    }

    /// What an answer says of a transport on `worker`: credentials, fingerprint and the host candidates.
    private func description(_ id: TransportID, worker: Int, ufrag: String, password: String) -> TransportDescription {
        let addresses = configuration.announceIPs.isEmpty ? [configuration.bindHost] : configuration.announceIPs
        let port = handles[worker].port
        return TransportDescription(id: id, localUfrag: ufrag, localPassword: password, fingerprint: fingerprint,
                                    candidateIP: addresses[0], candidatePort: port,
                                    candidates: ICECandidate.hostCandidates(addresses: addresses, port: port,
                                                                            tcp: handles[worker].tcp))
    }

    /// A worker's UDP socket and, with ICE-TCP, its TCP listener on the same port number. With port 0 the kernel
    /// picks the UDP port, and a pick whose TCP twin is taken (a client connection's ephemeral port) is tried again.
    private static func bindSockets(_ configuration: MediaEngineConfiguration, port: UInt16) throws(MediaError)
        -> (UDPSocket, ICETCPServer?) {
        var attempt = 0
        while true {
            attempt += 1
            let socket = try UDPSocket(host: configuration.bindHost, port: port)
            guard configuration.iceTCP else { return (socket, nil) }
            do {
                let tcp = try ICETCPServer(host: configuration.bindHost, port: socket.port,
                                           maxConnections: configuration.maxTCPConnectionsPerWorker)
                return (socket, tcp)
            } catch {
                if port != 0 || attempt >= 16 { throw error }
            }
        }
    }

    /// Each ICE-TCP connection is a descriptor: the soft limit (often 1024) goes up to the hard one.
    private static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Refuses announced addresses that are not IP addresses, or that the bound socket cannot receive for.
    public static func checkAnnounced(_ announced: [String], bindHost: String) throws(MediaError) {
        guard let bound = TransportAddress(ip: bindHost, port: 0) else {
            throw MediaError.configuration("'\(bindHost)' is not an IP address")
        }
        let dualStack = bindHost == "::"
        for ip in announced {
            guard let address = TransportAddress(ip: ip, port: 0) else {
                throw MediaError.configuration("announced address '\(ip)' is not an IP address")
            }
            if address.isIPv4 != bound.isIPv4 && !dualStack {
                throw MediaError.configuration("announced address \(ip) is IPv\(address.isIPv4 ? 4 : 6) but media binds "
                    + "\(bindHost) (IPv\(bound.isIPv4 ? 4 : 6)); bind :: to receive both families")
            }
        }
    }

    /// The media address (the first announced IP, and the port of the worker that owns `room`) where a relay for
    /// `room` is received on this node: what the other node of the relay sends to.
    public func relayAddress(room: String) -> (ip: String, port: UInt16) {
        ((configuration.announceIPs.first ?? configuration.bindHost), handles[workerIndex(room: room)].port)
    }

    /// Opens a relay to another node on the worker that owns `parameters.room` (where its publishers are), so that
    /// its producers can be sent over it (`relayProducer`) or, on the receiving node, added to it (`addProducer`,
    /// with the SSRCs the sending node chose announced as the producer's encodings).
    public func createRelay(_ parameters: RelayParameters) async throws -> TransportID {
        let worker = workerIndex(room: parameters.room)
        let id = TransportID(allocateID(worker: worker))
        try await send(to: worker) { reply in .createRelay(id, parameters, reply: reply) }
        return id
    }

    /// Starts a relay opened with `RelayParameters.waitsForStart`: its producers go to the other node from now on,
    /// each video layer from a keyframe (asked for now).
    public func startRelay(_ relay: TransportID) async throws {
        let worker = Self.worker(of: relay.rawValue)
        guard worker < handles.count else { throw MediaError.unknownTransport(relay) }
        try await send(to: worker) { reply in .startRelay(relay, reply: reply) }
    }

    /// Sends a producer over a relay (both on the room's worker), its layers under `ssrcs` (one each, distinct);
    /// returns the producer's parameters, which the other node's copy of it takes over.
    public func relayProducer(_ producer: ProducerID, over relay: TransportID, ssrcs: [UInt32]) async throws -> ProducerParameters {
        let worker = Self.worker(of: relay.rawValue)
        guard worker < handles.count else { throw MediaError.unknownTransport(relay) }
        guard Self.worker(of: producer.rawValue) == worker else {
            throw MediaError.configuration("producer \(producer) is not on the relay's worker")
        }
        return try await request(worker) { reply in .relayProducer(producer, relay, ssrcs: ssrcs, reply: reply) }
    }

    /// Adds an incoming stream to a publisher transport.
    public func addProducer(transport: TransportID, _ parameters: ProducerParameters) async throws -> ProducerID {
        let worker = Self.worker(of: transport.rawValue)
        guard worker < handles.count else { throw MediaError.unknownTransport(transport) }
        let id = ProducerID(allocateID(worker: worker))
        try await send(to: worker) { reply in .addProducer(transport, id, parameters, reply: reply) }
        return id
    }

    /// Adds an outgoing copy of a producer to a subscriber transport. When the two live on different workers,
    /// the producer's worker first opens (or adds a reference to) a pipe to the transport's worker, which then
    /// mirrors the producer for its consumers.
    public func addConsumer(transport: TransportID, _ parameters: ConsumerParameters) async throws -> ConsumerID {
        let worker = Self.worker(of: transport.rawValue)
        guard worker < handles.count else { throw MediaError.unknownTransport(transport) }
        let home = Self.worker(of: parameters.producer.rawValue)
        guard home < handles.count else { throw MediaError.unknownProducer(parameters.producer) }
        let id = ConsumerID(allocateID(worker: worker))
        guard home != worker else {
            try await send(to: worker) { reply in .addConsumer(transport, id, parameters, piped: nil, reply: reply) }
            return id
        }
        let source = try await request(home) { reply in .openPipe(parameters.producer, toWorker: worker, reply: reply) }
        do {
            try await send(to: worker) { reply in
                .addConsumer(transport, id, parameters, piped: PipedProducer(parameters: source, home: home), reply: reply)
            }
        } catch MediaError.workerOverloaded {
            // The command never reached the transport's worker, so it cannot give the pipe reference back.
            let handle = handles[home]
            if handle.commands.push(.closePipe(parameters.producer, toWorker: worker)) { handle.signal.signal() }
            throw MediaError.workerOverloaded
        }
        return id
    }

    /// Starts copying a producer's decrypted packets into a tap that the caller drains (a recording), and asks the
    /// publisher for a keyframe. A producer has at most one tap. `slots` bounds what may wait (1.5 KiB each).
    public func openTap(producer: ProducerID, slots: Int = 2_048) async throws -> (tap: MediaTap, parameters: ProducerParameters) {
        let home = Self.worker(of: producer.rawValue)
        guard home < handles.count else { throw MediaError.unknownProducer(producer) }
        let tap = MediaTap(producer: producer, slots: slots)
        let parameters = try await request(home) { reply in .openTap(tap, reply: reply) }
        return (tap, parameters)
    }

    /// Stops copying into a producer's tap (what is in it can still be drained). Unknown ids are ignored.
    public func closeTap(producer: ProducerID) {
        guard let handle = handle(of: producer.rawValue) else { return }
        if handle.commands.push(.closeTap(producer)) { handle.signal.signal() }
    }

    /// Asks a producer's publisher for a keyframe of its top layer (a recorder lost a packet); throttled as viewers'
    /// requests are. Unknown ids are ignored.
    public func requestKeyframe(producer: ProducerID, layer: Int = .max) {
        guard let handle = handle(of: producer.rawValue) else { return }
        if handle.commands.push(.requestKeyframe(producer, layer: layer)) { handle.signal.signal() }
    }

    /// Ends one incoming stream and all its consumers (a publisher stopped a track); emits .producerClosed
    /// and .consumerClosed for each copy. Unknown ids are ignored.
    public func closeProducer(_ id: ProducerID) async {
        guard let handle = handle(of: id.rawValue) else { return }
        await withCheckedContinuation { (reply: CheckedContinuation<Void, Never>) in
            if handle.commands.push(.closeProducer(id, reply: reply)) { handle.signal.signal() } else { reply.resume() }
        }
    }

    /// Stops sending one stream to a subscriber; emits .consumerClosed. Unknown ids are ignored.
    public func closeConsumer(_ id: ConsumerID) async {
        guard let handle = handle(of: id.rawValue) else { return }
        await withCheckedContinuation { (reply: CheckedContinuation<Void, Never>) in
            if handle.commands.push(.closeConsumer(id, reply: reply)) { handle.signal.signal() } else { reply.resume() }
        }
    }

    /// Caps what a video consumer forwards at `spatial` (0 = lowest simulcast layer) and `temporal`, e.g. because
    /// the viewer shows the tile small. The bandwidth estimate and the layers arriving may lower it further.
    /// Unknown ids are ignored; nothing waits for the worker.
    public func setPreferredLayers(consumer: ConsumerID, spatial: Int, temporal: Int) {
        guard let handle = handle(of: consumer.rawValue) else { return }
        if handle.commands.push(.setPreferredLayers(consumer, spatial: spatial, temporal: temporal)) { handle.signal.signal() }
    }

    /// Pauses (`paused` true) or resumes a consumer, as mediasoup's `consumer.pause()`/`resume()`: while paused
    /// nothing of its stream reaches the viewer (no RTP at all), e.g. because the viewer's tile for it is hidden;
    /// a resumed video consumer starts again at a keyframe, which is asked for at once. Unknown ids are ignored;
    /// nothing waits for the worker.
    public func setPaused(consumer: ConsumerID, paused: Bool) {
        guard let handle = handle(of: consumer.rawValue) else { return }
        if handle.commands.push(.setPaused(consumer, paused)) { handle.signal.signal() }
    }

    /// Closes a transport with its producers and consumers; emits .transportClosed(.requested).
    public func closeTransport(_ id: TransportID) async {
        guard let handle = handle(of: id.rawValue) else { return }
        await withCheckedContinuation { (reply: CheckedContinuation<Void, Never>) in
            if handle.commands.push(.closeTransport(id, reply: reply)) {
                handle.signal.signal()
            } else {
                reply.resume()
            }
        }
    }

    /// Events from all workers. The stream has a single consumer: call once.
    public func events() -> AsyncStream<MediaEvent> { channel.stream }

    public func stats() async -> MediaStats {
        var stats = MediaStats()
        for handle in handles { handle.counters.add(to: &stats) }
        return stats
    }

    /// Stops the workers (closing their transports) and the event thread.
    public func shutdown() async {
        guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        for handle in handles {
            _ = handle.commands.push(.shutdown)
            handle.signal.signal()
        }
        channel.wake()
    }

    // MARK: - Internals

    private func send(to worker: Int, _ make: (CheckedContinuation<Void, any Error>) -> WorkerCommand) async throws {
        try await request(worker, make)
    }

    /// Pushes a command whose reply resumes the caller (with a value, or Void for `send`); a full ring is
    /// `workerOverloaded`.
    private func request<Value: Sendable>(_ worker: Int, _ make: (CheckedContinuation<Value, any Error>) -> WorkerCommand) async throws -> Value {
        guard !stopped.load(ordering: .sequentiallyConsistent) else { throw MediaError.configuration("media engine is shut down") }
        let handle = handles[worker]
        return try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Value, any Error>) in
            if handle.commands.push(make(reply)) {
                handle.signal.signal()
            } else {
                reply.resume(throwing: MediaError.workerOverloaded)
            }
        }
    }

    /// Slots per pipe between two workers (each 1.5 KiB): ≈ 1.5 MiB per ordered pair.
    static let pipeSlots = 1024

    /// Ids carry their worker in the low byte, so a command finds its worker without shared tables.
    private func allocateID(worker: Int) -> UInt64 {
        (nextID.loadThenWrappingIncrement(ordering: .relaxed) << 8) | UInt64(worker)
    }

    private static func worker(of id: UInt64) -> Int { Int(id & 0xFF) }

    /// The handle of the worker an id belongs to; nil for an id this engine did not make (ignored, not a trap).
    /// The worker of an id; nil once the engine is shut down, so that a late close or hint returns at once
    /// instead of waiting for a worker that has stopped.
    private func handle(of id: UInt64) -> WorkerHandle? {
        guard !stopped.load(ordering: .sequentiallyConsistent) else { return nil }
        let worker = Self.worker(of: id)
        return worker < handles.count ? handles[worker] : nil
    }

    /// A room lives on one worker (FNV-1a of its name), like a mediasoup Router on one worker.
    private func workerIndex(room: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in room.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return Int(hash % UInt64(handles.count))
    }

    private static let iceCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// ICE ufrag/pwd characters (RFC 8839 ice-char), from the system CSPRNG.
    static func randomICEString(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in iceCharacters[Int(generator.next(upperBound: UInt64(iceCharacters.count)))] })
    }
}

/// What the control plane keeps of a worker: its doorbell, ring and counters.
struct WorkerHandle: Sendable {
    let commands: MPSCRing<WorkerCommand>
    let signal: WakeSignal
    let counters: WorkerCounters
    let port: UInt16
    /// The worker takes ICE-TCP on the same port number.
    let tcp: Bool
}

/// A worker's view of another worker: the pipes between them, and its command ring and doorbell.
struct WorkerLink {
    let outgoing: PacketPipe?
    let incoming: PacketPipe?
    let commands: MPSCRing<WorkerCommand>
    let signal: WakeSignal
}

/// Hands each worker to its thread exactly once.
private final class Launcher: @unchecked Sendable {
    // @unchecked: `workers` is read and cleared only by the single caller that wins `taken`.
    private var workers: [UDPMediaWorker]
    private let taken = ManagedAtomic<Bool>(false)
    init(_ workers: [UDPMediaWorker]) { self.workers = workers }
    func take() -> [UDPMediaWorker]? {
        guard !taken.exchange(true, ordering: .acquiringAndReleasing) else { return nil }
        defer { workers = [] }
        return workers
    }
}

/// Transfers a worker to the thread that will own it from then on.
private struct WorkerOwnership: @unchecked Sendable {
    // @unchecked: after the thread starts, only that thread touches the worker.
    let worker: UDPMediaWorker
    init(_ worker: UDPMediaWorker) { self.worker = worker }
}

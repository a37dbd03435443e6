import CMediaShims
import Glibc
import Atomics

/// One thread that owns a datagram I/O (a UDP socket in the server), the transports on it, their producers and
/// consumers and a packet pool. The packet path runs only here: no locks, no allocation per packet, no async.
/// The control plane talks to it through `commands` (ring + eventfd) and hears back through `events`.
///
/// A pipeline of parts with one job each, as mediasoup's worker is:
/// - `WorkerTables`: every index of transports, producers and consumers, and their teardown bookkeeping;
/// - `ICELiteResponder` (ICE), `DTLSEndpoint` per transport (`+DTLS`), SRTP per transport;
/// - routing (`+Routing`): a publisher's packet to its consumers here and to other workers' pipes;
/// - `PacketSender`: the one way anything is sent (pool buffer, write, SRTP, transport-wide sequence, batch);
/// - `Consumer` answers its viewer's NACKs and writes its sender reports;
/// - feedback in (`+RTCP`) and out (`+Reports`), layers and probing (`+Layers`), commands (`+Commands`).
///
/// The I/O and the clock are generic parameters, so engine tests and benchmarks run this very code on memory
/// (`MemoryDatagramIO`, `ManualClock`) without sockets or threads.
final class MediaWorker<IO: DatagramIO, Clock: WorkerClock> {
    let index: Int
    let io: IO
    let clock: Clock
    let configuration: MediaEngineConfiguration
    let dtlsContext: DTLSContext
    let commands: MPSCRing<WorkerCommand>
    let commandSignal: WakeSignal
    let events: EventChannel
    let counters: WorkerCounters

    let pool: PacketBufferPool
    let local = LocalCounters()
    let sender: PacketSender<IO>
    let tables = WorkerTables()
    private let receiveBatch = DatagramBatch()
    var running = true

    /// The other workers, by index (this worker's own entry is unused): pipes to and from each, and its
    /// command ring and doorbell. Set once by the engine before the threads start.
    var links: ContiguousArray<WorkerLink> = []
    /// Some pipe got packets in this receive batch: its worker's doorbell rings once after the batch.
    @exclusivity(unchecked) var pipesPending = false
    /// A pipe had more than one turn's worth: poll without sleeping until it is drained.
    var pipedBacklog = false
    /// Cross-worker commands that met a full ring, with their destination worker.
    var undelivered: [(worker: Int, command: WorkerCommand)] = []
    static var maxUndelivered: Int { 4096 }

    private var nextTickMs: Int64 = 0
    var nextReportMs: Int64 = 0
    var nextLayerUpdateMs: Int64 = 0
    /// Some viewer has probe padding to send: the loop wakes more often to pace it.
    var probing = false
    /// Scratch for NACK lists (no allocation per feedback).
    let nackScratch = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: 256)
    let consentTimeoutMs: Int64

    /// Microseconds at the current receive batch: send times for transport-wide feedback.
    var batchMicroseconds: Int64 {
        get { sender.batchMicroseconds }
        set { sender.batchMicroseconds = newValue }
    }

    /// Passive ICE-TCP beside the datagram I/O (nil when turned off, and in memory tests).
    var tcp: ICETCPServer? { sender.tcp }

    init(index: Int, io: IO, tcp: ICETCPServer? = nil, clock: Clock, configuration: MediaEngineConfiguration,
         dtlsContext: DTLSContext, events: EventChannel) throws(MediaError) {
        self.index = index
        self.io = io
        self.clock = clock
        self.configuration = configuration
        self.dtlsContext = dtlsContext
        self.commands = MPSCRing(capacity: 1024)
        self.commandSignal = try WakeSignal()
        self.events = events
        self.counters = WorkerCounters()
        self.pool = PacketBufferPool(capacity: max(configuration.poolSize, 2 * DatagramBatch.capacity + 64))
        self.sender = PacketSender(pool: pool, io: io, counters: local, tcp: tcp)
        self.consentTimeoutMs = Int64(configuration.consentTimeout * 1000)
        // The receive batch keeps its buffers for the worker's life; they are not "in use" by packets.
        for i in 0..<DatagramBatch.capacity {
            let buffer = pool.acquire()!
            receiveBatch.buffers[i] = buffer
            receiveBatch.slots[i].data = pool.pointer(buffer)
            receiveBatch.slots[i].capacity = UInt32(PacketBufferPool.bufferSize - SRTPContext.maxTrailerLength)
        }
        counters.poolTotal.store(pool.capacity, ordering: .relaxed)
    }

    deinit { nackScratch.deallocate() }

    /// Buffers held by packets in flight (the receive batch's own buffers excluded).
    var poolInUse: Int { pool.inUse - DatagramBatch.capacity }

    // MARK: - Loop

    /// The thread's body: sleeps in `poll` until a datagram, a command, an ICE-TCP event or the next timer, then
    /// takes a turn.
    func run() {
        var fds = [
            pollfd(fd: io.fileDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: commandSignal.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: tcp?.pollDescriptor ?? -1, events: Int16(POLLIN), revents: 0),
        ]
        while running {
            for i in fds.indices { fds[i].revents = 0 }
            let ready = poll(&fds, 3, pollTimeout(now: clock.milliseconds()))
            if ready > 0 && fds[1].revents != 0 { commandSignal.drain() }
            turn(readable: ready > 0 && fds[0].revents != 0, streamsReadable: ready > 0 && fds[2].revents != 0)
        }
        shutDown()
        // A command given while the engine stopped (a close racing its shutdown) is answered, not left waiting.
        drainCommands()
        shutDown()
    }

    /// One turn of the loop: the commands, what arrived, the pipes, probe padding and the timers. Engine tests
    /// and benchmarks call it directly on memory I/O. Commands come first: one given before a datagram arrived
    /// (a consumer closed, another worker's pipe closed) takes effect before that datagram is routed.
    func turn(readable: Bool = true, streamsReadable: Bool = false) {
        drainCommands()
        if readable { receiveAvailable() }
        if let tcp, streamsReadable || tcp.hasBacklog { receiveStreams(tcp) }
        if !links.isEmpty { pipedBacklog = receivePiped() }
        if probing { pacePadding() }
        let now = clock.milliseconds()
        if now >= nextTickMs {
            tick(now: now)
            nextTickMs = now + WorkerTiming.tickMs
        }
    }

    /// Closes every transport (DTLS close notifications go out) and publishes the final counters.
    func shutDown() {
        for transport in Array(tables.transports.values) { closeTransport(transport, reason: .shutdown) }
        sender.flush()
        tcp?.closeAll()
        publishCounters()
    }

    /// How long the loop may sleep in `poll`: not at all while a pipe has a backlog, a few milliseconds while
    /// probe padding is paced, until the next tick while there are transports (consent, feedback, reports), and
    /// until a datagram or a command arrives when the worker has nothing at all (an idle server sleeps).
    private func pollTimeout(now: Int64) -> Int32 {
        if pipedBacklog || tcp?.hasBacklog == true { return 0 }
        if tables.transports.isEmpty && undelivered.isEmpty && !probing && (tcp?.connectionCount ?? 0) == 0 { return -1 }
        return Int32(max(0, min(probing ? WorkerTiming.probePacingMs : WorkerTiming.tickMs, nextTickMs - now)))
    }

    /// Reads batches until the I/O has nothing more (bounded, so commands and timers keep their turn).
    func receiveAvailable() {
        for _ in 0..<WorkerTiming.receiveBatchesPerTurn {
            let received = io.receive(receiveBatch.slots, count: DatagramBatch.capacity)
            if received <= 0 { break }
            batchMicroseconds = clock.microseconds()
            let now = batchMicroseconds / 1000
            for i in 0..<received {
                local.packetsReceived &+= 1
                handleDatagram(receiveBatch.slots + i, overTCP: false, now: now)
            }
            sender.flush()
            publishPipes()
            if received < DatagramBatch.capacity { break }
        }
    }

    /// Takes the frames ICE-TCP connections have (bounded, like UDP) through the same path as datagrams, then
    /// forgets the addresses of connections that closed.
    private func receiveStreams(_ tcp: ICETCPServer) {
        for _ in 0..<WorkerTiming.receiveBatchesPerTurn {
            batchMicroseconds = clock.microseconds()
            let now = batchMicroseconds / 1000
            let received = tcp.receive(receiveBatch.slots, count: DatagramBatch.capacity, nowMs: now)
            for i in 0..<received {
                local.packetsReceived &+= 1
                handleDatagram(receiveBatch.slots + i, overTCP: true, now: now)
            }
            sender.flush()
            publishPipes()
            if received < DatagramBatch.capacity { break }
        }
        forgetClosedConnections(tcp)
    }

    func forgetClosedConnections(_ tcp: ICETCPServer) {
        for address in tcp.takeClosedAddresses() { tables.unbind(address) }
    }

    /// RFC 7983 demultiplexing of one datagram (or ICE-TCP frame) by its first byte.
    @inline(__always)
    private func handleDatagram(_ slot: UnsafeMutablePointer<sabha_dgram>, overTCP: Bool, now: Int64) {
        let length = Int(slot.pointee.length)
        guard length > 0, let data = slot.pointee.data else { local.drop(.malformed); return }
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        guard let address = withUnsafePointer(to: &slot.pointee.addr, { TransportAddress(storage: $0) }) else {
            local.drop(.malformed)
            return
        }
        let source = overTCP ? address.overTCP : address
        switch PacketClass.classify(bytes) {
        case .stun: handleSTUN(bytes, from: source, now: now)
        case .dtls: handleDTLS(bytes, from: source, now: now)
        case .rtp: handleRTP(data, length: length, from: source, now: now)
        case .rtcp: handleRTCP(data, length: length, from: source, now: now)
        default: local.drop(.malformed)
        }
    }

    /// An ICE connectivity check: answered (binding success, RFC 8489) once `ICELiteResponder` accepts it.
    private func handleSTUN(_ bytes: UnsafeRawBufferPointer, from source: TransportAddress, now: Int64) {
        guard let message = STUNMessage.parse(bytes) else { local.drop(.malformed); return }
        switch ICELiteResponder.accept(message, bytes, from: source, tables: tables, nowMs: now) {
        case .refused(let reason):
            local.drop(reason)
        case .accepted(let transport):
            sender.sendPlain(to: source) { out in
                STUNMessage.writeBindingSuccess(transactionID: message.transactionID, mappedAddress: source,
                                                integrityKey: transport.localPasswordKey, into: out)
            }
        }
    }

    // MARK: - Timers

    /// Every 50 ms: consent and DTLS timers, undelivered commands, feedback to publishers; every 200 ms the
    /// layers; every second the reports and keyframe requests for viewers still waiting.
    private func tick(now: Int64) {
        checkTransportTimers(now: now)
        if let tcp {
            tcp.expire(nowMs: now, idleTimeoutMs: consentTimeoutMs)
            forgetClosedConnections(tcp)
        }
        if !undelivered.isEmpty { retryUndelivered() }
        sendPublisherFeedback(now: now)
        if now >= nextLayerUpdateMs {
            let elapsed = now - (nextLayerUpdateMs - WorkerTiming.layerUpdateIntervalMs)
            nextLayerUpdateMs = now + WorkerTiming.layerUpdateIntervalMs
            updateLayers(now: now, elapsedMs: elapsed)
        }
        probing = scheduleProbes()
        if now >= nextReportMs {
            nextReportMs = now + WorkerTiming.reportIntervalMs
            sendReceiverReports()
            sendSenderReports(nowMicroseconds: clock.microseconds())
            for consumer in tables.consumers.values where consumer.waitingForKeyframe && consumer.transport.isConnected {
                requestKeyframe(consumer.producer, layer: consumer.targetSpatial, now: now)
            }
        }
        sender.flush()
        publishCounters()
    }

    /// RFC 7675 consent (a silent peer is closed) and DTLS retransmissions during the handshake.
    private func checkTransportTimers(now: Int64) {
        for transport in Array(tables.transports.values) where !transport.isRelay {
            if now - transport.lastConsentMs > consentTimeoutMs {
                log("transport \(transport.id) (\(transport.label)): no ICE consent for \(consentTimeoutMs / 1000) s, closing")
                closeTransport(transport, reason: .consentExpired)
                continue
            }
            if !transport.isConnected, let dtls = transport.dtls, let timeout = dtls.timeoutMilliseconds(), timeout == 0,
               let destination = transport.selected {
                dtls.handleTimeout()
                sendDTLSOutput(transport, to: destination)
                if case .failed(let reason) = dtls.state {
                    log("transport \(transport.id): DTLS failed: \(reason)")
                    closeTransport(transport, reason: .dtlsFailed)
                }
            }
        }
    }

    func publishCounters() {
        counters.transports.store(tables.transports.count, ordering: .relaxed)
        counters.producers.store(tables.producerCount, ordering: .relaxed)
        counters.consumers.store(tables.consumers.count, ordering: .relaxed)
        counters.poolInUse.store(poolInUse, ordering: .relaxed)
        counters.packetsReceived.store(local.packetsReceived, ordering: .relaxed)
        counters.packetsSent.store(local.packetsSent, ordering: .relaxed)
        counters.rtpForwarded.store(local.rtpForwarded, ordering: .relaxed)
        counters.retransmissionBytes.store(tables.retransmissionBytes, ordering: .relaxed)
        counters.store(local)
        if let tcp {
            counters.tcpConnections.store(tcp.connectionCount, ordering: .relaxed)
            counters.tcpRefused.store(tcp.refusedCount, ordering: .relaxed)
        }
        for reason in DropReason.allCases {
            counters.dropped[reason.rawValue].store(local.dropped[reason.rawValue], ordering: .relaxed)
        }
    }

    func emit(_ event: MediaEvent) {
        events.send(.media(event))
    }

    func log(_ message: String) {
        events.send(.log("worker \(index): \(message)"))
    }
}

/// The worker the server runs: a UDP socket and the monotonic clock.
typealias UDPMediaWorker = MediaWorker<UDPSocket, SystemClock>

import CMediaShims
import Glibc

/// One thread that owns a UDP socket, the transports on it, their producers and consumers and a packet pool.
/// The packet path runs only here: no locks, no allocation per packet, no async. The control plane talks to it
/// through `commands` (ring + eventfd) and hears back through `events`.
final class MediaWorker {
    let index: Int
    let socket: UDPSocket
    let configuration: MediaEngineConfiguration
    let dtlsContext: DTLSContext
    let commands: MPSCRing<WorkerCommand>
    let commandSignal: WakeSignal
    let events: EventChannel
    let counters: WorkerCounters

    let pool: PacketBufferPool
    private let receiveBatch = DatagramBatch()
    private let sendBatch = DatagramBatch()
    var local = LocalCounters()
    private var running = true

    var transports: [TransportID: WebRTCTransport] = [:]
    private var transportsByUfrag: [String: WebRTCTransport] = [:]
    var transportsByAddress: [TransportAddress: WebRTCTransport] = [:]
    var producers: [ProducerID: Producer] = [:]
    var consumers: [ConsumerID: Consumer] = [:]
    /// The other workers, by index (this worker's own entry is unused): pipes to and from each, and its
    /// command ring and doorbell. Set once by the engine before the threads start.
    var links: ContiguousArray<WorkerLink> = []
    /// Some pipe got packets in this receive batch: its worker's doorbell rings once after the batch.
    private var pipesPending = false
    /// A pipe had more than one round's worth: poll without sleeping until it is drained.
    private var pipedBacklog = false
    /// Mirrors in `producers` (not counted as producers in the stats).
    private var mirrorCount = 0
    /// Producers of other workers that closed, most recent last (bounded): a consumer for one of them that
    /// arrives after the news is refused instead of waiting on a mirror nothing feeds.
    private var goneProducers: [ProducerID] = []
    static let goneProducersRemembered = 256

    private var nextTickMs: Int64 = 0
    private var nextReportMs: Int64 = 0
    private var nextLayerUpdateMs: Int64 = 0
    /// Microseconds at the current receive batch: send times for transport-wide feedback.
    var batchMicroseconds: Int64 = 0
    /// Some viewer has probe padding to send: the loop wakes more often to pace it.
    private var probing = false
    /// One active-speaker detector per room on this worker.
    var speakerDetectors: [String: RoomSpeakers] = [:]
    /// Scratch for NACK lists (no allocation per feedback).
    let nackScratch = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: 256)
    private let consentTimeoutMs: Int64
    /// Addresses one transport may validate (ICE-lite answers checks on all of them).
    static let maxAddressesPerTransport = 8

    init(index: Int, socket: UDPSocket, configuration: MediaEngineConfiguration, dtlsContext: DTLSContext,
         events: EventChannel) throws(MediaError) {
        self.index = index
        self.socket = socket
        self.configuration = configuration
        self.dtlsContext = dtlsContext
        self.commands = MPSCRing(capacity: 1024)
        self.commandSignal = try WakeSignal()
        self.events = events
        self.counters = WorkerCounters()
        self.pool = PacketBufferPool(capacity: max(configuration.poolSize, 2 * DatagramBatch.capacity + 64))
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

    /// Buffers held by packets in flight (the receive batch's own buffers excluded).
    private var poolInUse: Int { pool.inUse - DatagramBatch.capacity }

    // MARK: - Loop

    func run() {
        var fds = [
            pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: commandSignal.fd, events: Int16(POLLIN), revents: 0),
        ]
        while running {
            let timeout = pollTimeout(now: MonotonicClock.milliseconds())
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, timeout)
            if ready > 0 {
                if fds[1].revents != 0 { commandSignal.drain() }
                if fds[0].revents != 0 { receiveAvailable() }
            }
            drainCommands()
            if !links.isEmpty { pipedBacklog = receivePiped() }
            if probing { pacePadding() }
            let after = MonotonicClock.milliseconds()
            if after >= nextTickMs {
                tick(now: after)
                nextTickMs = after + 50
            }
        }
        for transport in Array(transports.values) { closeTransport(transport, reason: .shutdown) }
        flushSends()
        publishCounters()
    }

    /// How long the loop may sleep in `poll`: not at all while a pipe has a backlog, a few milliseconds while
    /// probe padding is paced, until the next tick while there are transports (consent, feedback, reports), and
    /// until a datagram or a command arrives when the worker has nothing at all (an idle server sleeps).
    private func pollTimeout(now: Int64) -> Int32 {
        if pipedBacklog { return 0 }
        if transports.isEmpty && undelivered.isEmpty && !probing { return -1 }
        return Int32(max(0, min(probing ? 5 : 50, nextTickMs - now)))
    }

    /// Reads batches until the socket is empty (bounded, so commands and timers keep their turn).
    private func receiveAvailable() {
        for _ in 0..<32 {
            let received = sabha_recv_batch(socket.fd, receiveBatch.slots, UInt32(DatagramBatch.capacity))
            if received <= 0 { break }
            batchMicroseconds = MonotonicClock.microseconds()
            let now = batchMicroseconds / 1000
            for i in 0..<Int(received) {
                local.packetsReceived &+= 1
                handleDatagram(receiveBatch.slots + i, now: now)
            }
            flushSends()
            publishPipes()
            if received < DatagramBatch.capacity { break }
        }
    }

    // MARK: - Pipes to other workers

    /// Makes this batch's piped packets visible and rings each receiving worker once.
    @inline(__always)
    private func publishPipes() {
        guard pipesPending else { return }
        pipesPending = false
        for link in links where link.outgoing?.publish() == true { link.signal.signal() }
    }

    /// Forwards what other workers piped to this one, as if it had arrived here (bounded per round); true when
    /// some pipe still has packets waiting.
    private func receivePiped() -> Bool {
        var any = false
        var more = false
        for link in links {
            guard let pipe = link.incoming else { continue }
            let now = MonotonicClock.milliseconds()
            batchMicroseconds = MonotonicClock.microseconds()
            let count = pipe.drain(limit: Self.pipedPerRound) { slot, data in
                handlePiped(slot, data, now: now)
            }
            any = any || count > 0
            more = more || count == Self.pipedPerRound
        }
        if any { flushSends() }
        return more
    }

    /// Packets taken from one pipe per loop round, so sockets, commands and timers keep their turn.
    static let pipedPerRound = 256

    @inline(__always)
    private func handlePiped(_ slot: PacketPipe.SlotHeader, _ data: UnsafeMutableRawPointer, now: Int64) {
        guard let producer = producers[slot.producer], producer.isMirror, Int(slot.layer) < producer.layers.count else {
            return  // its last consumer here closed while packets were in flight
        }
        let length = Int(slot.length)
        guard let header = RTPHeader.parse(UnsafeRawBufferPointer(start: data, count: length)) else { return }
        let layer = producer.layers[Int(slot.layer)]
        if layer.ssrc == 0 { layer.ssrc = header.ssrc }
        route(header, UnsafeRawBufferPointer(start: data, count: length), producer: producer, layer: layer,
              recovered: false, now: now)
    }

    /// Copies a packet to every worker with consumers of its producer.
    @inline(__always)
    private func pipe(_ bytes: UnsafeRawBufferPointer, producer: Producer, layer: Int) {
        for worker in producer.pipes {
            if links[worker].outgoing?.push(producer: producer.id, layer: layer, bytes: bytes) == true {
                pipesPending = true
                local.packetsPiped &+= 1
            } else {
                local.drop(.pipeFull)
            }
        }
    }

    /// Sends a cross-worker command and rings that worker. When its ring is full the command waits in
    /// `undelivered` (in order, behind any earlier one for that worker) and is retried on every tick.
    func tell(worker: Int, _ command: WorkerCommand) {
        guard worker != index, worker < links.count else { return }
        if undelivered.contains(where: { $0.worker == worker }) || !links[worker].commands.push(command) {
            guard undelivered.count < Self.maxUndelivered else {
                log("dropped a command for worker \(worker): \(Self.maxUndelivered) already wait for full rings")
                return
            }
            if undelivered.isEmpty { log("worker \(worker)'s command ring is full; retrying on the next ticks") }
            undelivered.append((worker, command))
            return
        }
        links[worker].signal.signal()
    }

    /// Retries what `tell` could not deliver, oldest first, as long as the rings take it.
    private func retryUndelivered() {
        var blocked: Set<Int> = []
        var kept: [(worker: Int, command: WorkerCommand)] = []
        for entry in undelivered {
            if blocked.contains(entry.worker) || !links[entry.worker].commands.push(entry.command) {
                blocked.insert(entry.worker)
                kept.append(entry)
            } else {
                links[entry.worker].signal.signal()
            }
        }
        undelivered = kept
    }

    /// Cross-worker commands that met a full ring, with their destination worker.
    private var undelivered: [(worker: Int, command: WorkerCommand)] = []
    static let maxUndelivered = 4096

    @inline(__always)
    private func handleDatagram(_ slot: UnsafeMutablePointer<sabha_dgram>, now: Int64) {
        let length = Int(slot.pointee.length)
        guard length > 0, let data = slot.pointee.data else { local.drop(.malformed); return }
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        guard let source = withUnsafePointer(to: &slot.pointee.addr, { TransportAddress(storage: $0) }) else {
            local.drop(.malformed)
            return
        }
        switch PacketClass.classify(bytes) {
        case .stun: handleSTUN(bytes, from: source, now: now)
        case .dtls: handleDTLS(bytes, from: source, now: now)
        case .rtp: handleRTP(data, length: length, from: source, now: now)
        case .rtcp: handleRTCP(data, length: length, from: source, now: now)
        default: local.drop(.malformed)
        }
    }

    // MARK: - ICE-lite

    private func handleSTUN(_ bytes: UnsafeRawBufferPointer, from source: TransportAddress, now: Int64) {
        guard let message = STUNMessage.parse(bytes) else { local.drop(.malformed); return }
        guard message.messageClass == .request, message.method == STUNMessage.bindingMethod else {
            local.drop(.stunUnexpected)
            return
        }
        guard let username = message.username, let colon = username.firstIndex(of: ":"),
              let transport = transportsByUfrag[String(username[..<colon])] else {
            local.drop(.stunUnknownUser)
            return
        }
        guard message.messageIntegrityOffset != nil,
              message.verifyMessageIntegrity(in: bytes, key: transport.localPasswordKey) else {
            local.drop(.stunBadIntegrity)
            return
        }
        if message.fingerprintOffset != nil && !message.verifyFingerprint(in: bytes) {
            local.drop(.malformed)
            return
        }
        if let owner = transportsByAddress[source] {
            guard owner === transport else { local.drop(.unknownSource); return }
        } else {
            guard transport.addresses.count < Self.maxAddressesPerTransport else { local.drop(.unknownSource); return }
            transport.addresses.append(source)
            transportsByAddress[source] = transport
        }
        // RFC 7675: any authenticated check from the peer refreshes consent.
        transport.lastConsentMs = now
        if message.useCandidate || transport.selected == nil {
            transport.selected = source
        }
        guard let buffer = pool.acquire() else { local.drop(.poolExhausted); return }
        let out = UnsafeMutableRawBufferPointer(start: pool.pointer(buffer), count: PacketBufferPool.bufferSize)
        let length = STUNMessage.writeBindingSuccess(
            transactionID: message.transactionID, mappedAddress: source,
            integrityKey: transport.localPasswordKey, into: out)
        guard length > 0 else { pool.release(buffer); return }
        enqueueSend(buffer: buffer, length: length, to: source)
    }

    // MARK: - DTLS

    private func handleDTLS(_ bytes: UnsafeRawBufferPointer, from source: TransportAddress, now: Int64) {
        guard let transport = transportsByAddress[source] else { local.drop(.dtlsUnknownSource); return }
        let wasConnected = transport.isConnected
        transport.dtls.receive(bytes)
        sendDTLSOutput(transport, to: source)
        switch transport.dtls.state {
        case .connected:
            if !wasConnected { dtlsConnected(transport, now: now) }
        case .failed(let reason):
            log("transport \(transport.id) (\(transport.label)): DTLS failed: \(reason)")
            closeTransport(transport, reason: .dtlsFailed)
        case .closed:
            closeTransport(transport, reason: .dtlsClosed)
        case .handshaking:
            break
        }
    }

    private func sendDTLSOutput(_ transport: WebRTCTransport, to destination: TransportAddress) {
        transport.dtls.drainOutgoing { datagram in
            guard datagram.count <= PacketBufferPool.bufferSize, let buffer = pool.acquire() else {
                local.drop(.poolExhausted)
                return
            }
            pool.pointer(buffer).copyMemory(from: datagram.baseAddress!, byteCount: datagram.count)
            enqueueSend(buffer: buffer, length: datagram.count, to: destination)
        }
    }

    private func dtlsConnected(_ transport: WebRTCTransport, now: Int64) {
        guard let keys = transport.dtls.exportSRTPKeys() else {
            log("transport \(transport.id): DTLS connected without SRTP keys")
            closeTransport(transport, reason: .dtlsFailed)
            return
        }
        do {
            transport.srtpInbound = try SRTPContext(profile: keys.profile, key: keys.remoteKey, salt: keys.remoteSalt, direction: .inbound)
            transport.srtpOutbound = try SRTPContext(profile: keys.profile, key: keys.localKey, salt: keys.localSalt, direction: .outbound)
            followStreams(transport)
            transport.profile = keys.profile
        } catch {
            log("transport \(transport.id): SRTP setup failed: \(error)")
            closeTransport(transport, reason: .dtlsFailed)
            return
        }
        emit(.transportConnected(transport.id, keys.profile))
        // Viewers need a keyframe to start: ask the publishers now that we can decrypt their feedback paths.
        for consumer in transport.consumers where consumer.waitingForKeyframe {
            requestKeyframe(consumer.producer, layer: consumer.targetSpatial, now: now)
        }
    }

    // MARK: - RTP

    @inline(__always)
    private func handleRTP(_ data: UnsafeMutableRawPointer, length: Int, from source: TransportAddress, now: Int64) {
        guard let transport = transportsByAddress[source] else { local.drop(.unknownSource); return }
        guard let srtp = transport.srtpInbound else { local.drop(.notConnected); return }
        var plainLength = length
        guard accepted(srtp.unprotectRTP(data, length: &plainLength)) else { return }
        guard var header = RTPHeader.parse(UnsafeRawBufferPointer(start: data, count: plainLength)) else {
            local.drop(.malformed)
            return
        }
        guard let binding = transport.binding(for: header, UnsafeRawBufferPointer(start: data, count: plainLength)) else {
            local.drop(.noProducer)
            return
        }
        let producer = binding.producer
        let layer = producer.layers[binding.layer]
        if let feedback = transport.transportWideFeedback, transport.transportWideIDIn != 0,
           let element = header.extensionElement(id: transport.transportWideIDIn, in: UnsafeRawBufferPointer(start: data, count: plainLength)),
           element.length == 2 {
            feedback.record(sequence: UnsafeRawBufferPointer(start: data, count: plainLength).u16(element.offset),
                            arrivalMicroseconds: batchMicroseconds)
        }
        if binding.isRTX {
            // RFC 4588: a retransmission we asked for (or a padding probe, which carries nothing).
            guard header.payloadType == producer.parameters.rtxPayloadType, layer.ssrc != 0,
                  let original = RTXPacket.unwrap(data, length: plainLength, header: header,
                                                  mediaPayloadType: producer.parameters.payloadType, mediaSSRC: layer.ssrc),
                  let restored = RTPHeader.parse(UnsafeRawBufferPointer(start: data, count: original)) else { return }
            plainLength = original
            header = restored
            local.packetsRecovered &+= 1
        }
        guard header.payloadType == producer.parameters.payloadType else { return }
        route(header, UnsafeRawBufferPointer(start: data, count: plainLength), producer: producer, layer: layer,
              recovered: binding.isRTX, now: now)
    }

    /// A decrypted media packet of `producer`: receive-side bookkeeping, then a copy to each consumer here and
    /// to each worker with consumers of it. Mirrors (packets from a pipe) take the same path.
    @inline(__always)
    private func route(_ header: RTPHeader, _ bytes: UnsafeRawBufferPointer, producer: Producer, layer: ProducerLayer,
                       recovered: Bool, now: Int64) {
        layer.noteSequence(header.sequenceNumber)
        var packet = IncomingPacket(header: header)
        packet.spatialLayer = layer.index
        if producer.parameters.kind == .video {
            guard header.payloadLength == 0 || packet.readVP8(bytes) else { local.drop(.malformed); return }
            if header.payloadLength == 0 { return }  // padding from the publisher's own probing
            if packet.keyframeStart { producer.keyframeRequests.keyframeArrived(layer: layer.index, nowMs: now) }
            layer.retransmissions?.store(bytes, sequence: header.sequenceNumber, nowMs: now)
            layer.nacks?.received(sequence: header.sequenceNumber, isKeyframe: packet.keyframeStart,
                                  isRecovered: recovered, nowMs: now)
        } else if let speakers = producer.speakers, producer.audioLevelID != 0,
                  let level = RTPAudioLevel.read(from: bytes, header: header, extensionID: producer.audioLevelID) {
            speakers.detector.record(source: producer.id.rawValue, level: level.level, voice: level.voiceActivity, nowMs: now)
        }
        layer.noteOctets(header.payloadLength, temporalLayer: packet.temporalLayer, nowMs: now)
        if !producer.pipes.isEmpty { pipe(bytes, producer: producer, layer: layer.index) }
        for consumer in producer.consumers {
            forward(packet, bytes, to: consumer, now: now)
        }
    }

    @inline(__always)
    private func forward(_ packet: IncomingPacket, _ bytes: UnsafeRawBufferPointer, to consumer: Consumer, now: Int64) {
        let transport = consumer.transport
        guard let srtp = transport.srtpOutbound, let destination = transport.selected else { return }
        var needsKeyframe = false
        let numbers = consumer.accept(packet, nowMs: now, needsKeyframe: &needsKeyframe)
        if needsKeyframe { requestKeyframe(consumer.producer, layer: consumer.targetSpatial, now: now) }
        guard let numbers else { return }
        if consumer.layersChanged { noteLayersChanged(consumer) }
        guard let buffer = pool.acquire() else { local.drop(.poolExhausted); return }
        let out = pool.pointer(buffer)
        let transportSequence = transport.sendHistory.map { Int($0.nextSequence()) } ?? -1
        var length = consumer.write(packet, bytes, numbers, transportSequence: transportSequence, rtx: false, into: out)
        let status = srtp.protectRTP(out, length: &length)
        guard status == .ok else {
            pool.release(buffer)
            local.drop(status == .streamTableFull ? .srtpStreamLimit : .sendFailed)
            return
        }
        consumer.noteForwarded(packet, numbers)
        if transportSequence >= 0 {
            transport.sendHistory?.record(sequence: UInt16(truncatingIfNeeded: transportSequence),
                                          sentMicroseconds: batchMicroseconds, size: length, isProbe: false)
        }
        transport.sentOctets &+= UInt64(length)
        local.rtpForwarded &+= 1
        enqueueSend(buffer: buffer, length: length, to: destination)
    }

    /// Counts a datagram SRTP refused under its reason; true when it was decrypted.
    @inline(__always)
    func accepted(_ status: SRTPStatus) -> Bool {
        switch status {
        case .ok: return true
        case .replayed: local.drop(.srtpReplay)
        case .streamTableFull: local.drop(.srtpStreamLimit)
        default: local.drop(.srtpAuthFailed)
        }
        return false
    }

    // MARK: - Sending

    @inline(__always)
    func enqueueSend(buffer: Int32, length: Int, to destination: TransportAddress) {
        if sendBatch.isFull { flushSends() }
        let i = sendBatch.count
        sendBatch.buffers[i] = buffer
        sendBatch.slots[i].data = pool.pointer(buffer)
        sendBatch.slots[i].length = UInt32(length)
        sendBatch.slots[i].addrlen = destination.write(to: &sendBatch.slots[i].addr)
        sendBatch.count = i + 1
    }

    private func flushSends() {
        var first = 0
        while first < sendBatch.count {
            let sent = sabha_send_batch(socket.fd, sendBatch.slots + first, UInt32(sendBatch.count - first))
            if sent <= 0 {
                // Kernel buffer full or an error: these datagrams are lost, like on any congested link.
                let lost = sendBatch.count - first
                for _ in 0..<lost { local.drop(.sendFailed) }
                break
            }
            local.packetsSent &+= UInt64(sent)
            first += Int(sent)
        }
        for i in 0..<sendBatch.count { pool.release(sendBatch.buffers[i]) }
        sendBatch.count = 0
    }

    // MARK: - Timers

    private func tick(now: Int64) {
        for transport in Array(transports.values) {
            if now - transport.lastConsentMs > consentTimeoutMs {
                log("transport \(transport.id) (\(transport.label)): no ICE consent for \(consentTimeoutMs / 1000) s, closing")
                closeTransport(transport, reason: .consentExpired)
                continue
            }
            if !transport.isConnected, let timeout = transport.dtls.timeoutMilliseconds(), timeout == 0,
               let destination = transport.selected {
                transport.dtls.handleTimeout()
                sendDTLSOutput(transport, to: destination)
                if case .failed(let reason) = transport.dtls.state {
                    log("transport \(transport.id): DTLS failed: \(reason)")
                    closeTransport(transport, reason: .dtlsFailed)
                }
            }
        }
        if !undelivered.isEmpty { retryUndelivered() }
        sendPublisherFeedback(now: now)
        if now >= nextLayerUpdateMs {
            let elapsed = now - (nextLayerUpdateMs - Self.layerUpdateIntervalMs)
            nextLayerUpdateMs = now + Self.layerUpdateIntervalMs
            updateLayers(now: now, elapsedMs: elapsed)
        }
        probing = scheduleProbes()
        if now >= nextReportMs {
            nextReportMs = now + 1000
            sendReceiverReports()
            sendSenderReports(nowMicroseconds: MonotonicClock.microseconds())
            for consumer in consumers.values where consumer.waitingForKeyframe && consumer.transport.isConnected {
                requestKeyframe(consumer.producer, layer: consumer.targetSpatial, now: now)
            }
        }
        flushSends()
        publishCounters()
    }

    /// Sends the next step of every viewer's probe padding.
    private func pacePadding() {
        var pending = false
        let now = MonotonicClock.milliseconds()
        batchMicroseconds = now * 1000
        for transport in transports.values where transport.paddingDebt > 0 {
            flushPadding(transport, now: now)
            pending = pending || transport.paddingDebt > 0
        }
        flushSends()
        probing = pending
    }

    /// How often viewers' layers are re-chosen from their estimates (and rates, speakers updated).
    static let layerUpdateIntervalMs: Int64 = 200

    private func publishCounters() {
        counters.transports.store(transports.count, ordering: .relaxed)
        counters.producers.store(producers.count - mirrorCount, ordering: .relaxed)
        counters.consumers.store(consumers.count, ordering: .relaxed)
        counters.poolInUse.store(poolInUse, ordering: .relaxed)
        counters.packetsReceived.store(local.packetsReceived, ordering: .relaxed)
        counters.packetsSent.store(local.packetsSent, ordering: .relaxed)
        counters.rtpForwarded.store(local.rtpForwarded, ordering: .relaxed)
        counters.store(local)
        for reason in DropReason.allCases {
            counters.dropped[reason.rawValue].store(local.dropped[reason.rawValue], ordering: .relaxed)
        }
    }

    // MARK: - Commands

    private func drainCommands() {
        while let command = commands.pop() {
            switch command {
            case let .createTransport(id, parameters, ufrag, password, reply):
                do {
                    let dtls = try DTLSEndpoint(context: dtlsContext, role: .server,
                                                remoteFingerprints: parameters.remoteFingerprints)
                    let transport = WebRTCTransport(id: id, parameters: parameters, localUfrag: ufrag,
                                                    localPassword: password, dtls: dtls,
                                                    now: MonotonicClock.milliseconds())
                    transports[id] = transport
                    transportsByUfrag[ufrag] = transport
                    reply.resume()
                } catch {
                    reply.resume(throwing: error)
                }
            case let .addProducer(transportID, id, parameters, reply):
                guard let transport = transports[transportID] else {
                    reply.resume(throwing: MediaError.unknownTransport(transportID))
                    continue
                }
                let producer = Producer(id: id, transport: transport, home: index, parameters: parameters)
                transport.producers.append(producer)
                for layer in producer.layers {
                    if layer.ssrc != 0 { transport.streamsBySSRC[layer.ssrc] = StreamBinding(producer: producer, layer: layer.index, isRTX: false) }
                    if layer.rtxSSRC != 0 { transport.streamsBySSRC[layer.rtxSSRC] = StreamBinding(producer: producer, layer: layer.index, isRTX: true) }
                }
                if parameters.extensions.transportWideCC != 0 && parameters.feedback.contains(.transportCC)
                    && transport.transportWideFeedback == nil {
                    transport.transportWideFeedback = TransportWideFeedbackBuilder()
                    transport.transportWideIDIn = parameters.extensions.transportWideCC
                }
                followStreams(transport)
                if producer.audioLevelID != 0 {
                    let speakers = speakerDetectors[transport.room] ?? RoomSpeakers()
                    speakerDetectors[transport.room] = speakers
                    _ = speakers.detector.addSource(id.rawValue)
                    producer.speakers = speakers
                }
                producers[id] = producer
                reply.resume()
            case let .addConsumer(transportID, id, parameters, piped, reply):
                guard let transport = transports[transportID] else {
                    if let piped { tell(worker: piped.home, .closePipe(parameters.producer, toWorker: index)) }
                    reply.resume(throwing: MediaError.unknownTransport(transportID))
                    continue
                }
                if piped != nil && goneProducers.contains(parameters.producer) {
                    reply.resume(throwing: MediaError.unknownProducer(parameters.producer))
                    continue
                }
                if let piped, producers[parameters.producer] == nil {
                    producers[parameters.producer] = Producer(id: parameters.producer, transport: nil, home: piped.home,
                                                              parameters: piped.parameters)
                    mirrorCount += 1
                }
                guard let producer = producers[parameters.producer] else {
                    reply.resume(throwing: MediaError.unknownProducer(parameters.producer))
                    continue
                }
                let consumer = Consumer(id: id, transport: transport, producer: producer, parameters: parameters)
                consumer.targetSpatial = producer.bestActiveLayer(atMost: Int.max, nowMs: MonotonicClock.milliseconds())
                    ?? producer.layers.count - 1
                if parameters.extensions.transportWideCC != 0 && parameters.feedback.contains(.transportCC) {
                    if transport.sendHistory == nil { transport.sendHistory = TransportWideSendHistory() }
                    if transport.estimator == nil { transport.estimator = SendSideBandwidthEstimator() }
                } else if parameters.feedback.contains(.remb), transport.estimator == nil {
                    transport.estimator = SendSideBandwidthEstimator()
                }
                transport.consumers.append(consumer)
                transport.consumersBySSRC[parameters.ssrc] = consumer
                if parameters.rtxSSRC != 0 { transport.consumersBySSRC[parameters.rtxSSRC] = consumer }
                followStreams(transport)
                producer.consumers.append(consumer)
                consumers[id] = consumer
                reply.resume()
            case let .closeProducer(id, reply):
                if let producer = producers[id] { closeProducer(producer) }
                reply.resume()
            case let .closeConsumer(id, reply):
                if let consumer = consumers[id] {
                    detach(consumer)
                    unlink(consumer)
                    emit(.consumerClosed(consumer.id, consumer.transport.id))
                }
                reply.resume()
            case let .closeTransport(id, reply):
                if let transport = transports[id] { closeTransport(transport, reason: .requested) }
                flushSends()
                reply?.resume()
            case let .setPreferredLayers(id, spatial, temporal):
                if let consumer = consumers[id] {
                    consumer.preferredSpatial = max(0, spatial)
                    consumer.preferredTemporal = max(0, temporal)
                }
            case .shutdown:
                running = false
            case let .openPipe(id, worker, reply):
                guard let producer = producers[id], !producer.isMirror else {
                    reply.resume(throwing: MediaError.unknownProducer(id))
                    continue
                }
                guard worker != index, worker < links.count, links[worker].outgoing != nil else {
                    reply.resume(throwing: MediaError.configuration("no pipe from worker \(index) to worker \(worker)"))
                    continue
                }
                producer.pipeReferences[worker, default: 0] += 1
                if !producer.pipes.contains(worker) { producer.pipes.append(worker) }
                reply.resume(returning: producer.parameters)
            case let .closePipe(id, worker):
                guard let producer = producers[id], !producer.isMirror, let count = producer.pipeReferences[worker] else { continue }
                if count > 1 {
                    producer.pipeReferences[worker] = count - 1
                } else {
                    producer.pipeReferences[worker] = nil
                    producer.pipes.removeAll { $0 == worker }
                }
            case let .producerGone(id):
                if goneProducers.count == Self.goneProducersRemembered { goneProducers.removeFirst() }
                goneProducers.append(id)
                guard let mirror = producers[id], mirror.isMirror else { continue }
                for consumer in mirror.consumers {
                    detach(consumer)
                    emit(.consumerClosed(consumer.id, consumer.transport.id))
                }
                mirror.consumers.removeAll()
                producers[id] = nil
                mirrorCount -= 1
            case let .senderReport(id, layer, ntp, rtp):
                if let mirror = producers[id], mirror.isMirror, layer < mirror.layers.count {
                    mirror.layers[layer].noteSenderReport(ntp: ntp, rtp: rtp, nowMicroseconds: MonotonicClock.microseconds())
                }
            case let .requestKeyframe(id, layer):
                if let producer = producers[id], !producer.isMirror {
                    requestKeyframe(producer, layer: layer, now: MonotonicClock.milliseconds())
                }
            }
        }
        publishCounters()
    }

    /// Keeps the transport's SRTP state in step with its streams; says so once when a limit is reached.
    private func followStreams(_ transport: WebRTCTransport) {
        if !transport.followStreams() {
            log("transport \(transport.id) (\(transport.label)): more than \(SRTPContext.maxStreams) SRTP streams; "
                + "packets of new streams are dropped (srtpStreamLimit)")
        }
    }

    // MARK: - Teardown

    private func closeTransport(_ transport: WebRTCTransport, reason: TransportCloseReason) {
        guard !transport.closed else { return }
        transport.closed = true
        for producer in transport.producers {
            for consumer in producer.consumers {
                detach(consumer)
                emit(.consumerClosed(consumer.id, consumer.transport.id))
            }
            producer.consumers.removeAll()
            closePipes(producer)
            producers[producer.id] = nil
            emit(.producerClosed(producer.id))
        }
        for consumer in transport.consumers {
            unlink(consumer)
            consumers[consumer.id] = nil
        }
        if reason != .dtlsClosed && reason != .consentExpired && reason != .dtlsFailed, let destination = transport.selected {
            transport.dtls.close()
            sendDTLSOutput(transport, to: destination)
        }
        for producer in transport.producers { forgetSpeaker(producer) }
        transport.producers.removeAll()
        transport.streamsBySSRC.removeAll()
        transport.consumers.removeAll()
        transport.consumersBySSRC.removeAll()
        transport.srtpInbound = nil
        transport.srtpOutbound = nil
        for address in transport.addresses where transportsByAddress[address] === transport {
            transportsByAddress[address] = nil
        }
        transportsByUfrag[transport.localUfrag] = nil
        transports[transport.id] = nil
        emit(.transportClosed(transport.id, reason))
        publishCounters()
    }

    /// Ends one incoming stream (the publisher stopped that track) and every copy of it.
    private func closeProducer(_ producer: Producer) {
        for consumer in producer.consumers {
            detach(consumer)
            emit(.consumerClosed(consumer.id, consumer.transport.id))
        }
        producer.consumers.removeAll()
        closePipes(producer)
        if let transport = producer.transport {
            if let index = transport.producers.firstIndex(where: { $0 === producer }) {
                transport.producers.remove(at: index)
            }
            for (ssrc, binding) in transport.streamsBySSRC where binding.producer === producer {
                transport.streamsBySSRC[ssrc] = nil
            }
            transport.forgetStreams(of: producer)
        }
        forgetSpeaker(producer)
        producers[producer.id] = nil
        emit(.producerClosed(producer.id))
    }

    /// Takes a consumer out of its producer's list. A mirror's home worker hears of it (one pipe reference
    /// less), and a mirror without consumers goes.
    private func unlink(_ consumer: Consumer) {
        let producer = consumer.producer
        if let position = producer.consumers.firstIndex(where: { $0 === consumer }) {
            producer.consumers.remove(at: position)
        }
        guard producer.isMirror else { return }
        tell(worker: producer.home, .closePipe(producer.id, toWorker: index))
        if producer.consumers.isEmpty && producers[producer.id] === producer {
            producers[producer.id] = nil
            mirrorCount -= 1
        }
    }

    /// A producer is closing: the workers it is piped to close their mirrors (and those mirrors' consumers).
    private func closePipes(_ producer: Producer) {
        for worker in producer.pipes { tell(worker: worker, .producerGone(producer.id)) }
        producer.pipes.removeAll()
        producer.pipeReferences.removeAll()
    }

    /// Removes a consumer from its subscriber transport (its producer is going away).
    private func detach(_ consumer: Consumer) {
        let transport = consumer.transport
        if let index = transport.consumers.firstIndex(where: { $0 === consumer }) {
            transport.consumers.remove(at: index)
        }
        transport.consumersBySSRC[consumer.parameters.ssrc] = nil
        if consumer.parameters.rtxSSRC != 0 { transport.consumersBySSRC[consumer.parameters.rtxSSRC] = nil }
        transport.forgetStreams(of: consumer)
        consumers[consumer.id] = nil
    }

    /// Takes a closing producer out of its room's active-speaker detection (and the room's detector, once empty).
    private func forgetSpeaker(_ producer: Producer) {
        guard let speakers = producer.speakers else { return }
        producer.speakers = nil
        speakers.detector.removeSource(producer.id.rawValue)
        guard let room = producer.transport?.room else { return }
        if speakers.current == producer.id {
            speakers.current = nil
            emit(.activeSpeaker(room: room, producer: nil))
        }
        if !producers.values.contains(where: { $0.speakers === speakers && $0 !== producer }) {
            speakerDetectors[room] = nil
        }
    }

    func emit(_ event: MediaEvent) {
        events.send(.media(event))
    }

    func log(_ message: String) {
        events.send(.log("worker \(index): \(message)"))
    }
}

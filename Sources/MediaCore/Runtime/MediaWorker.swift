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

    private let pool: PacketBufferPool
    private let receiveBatch = DatagramBatch()
    private let sendBatch = DatagramBatch()
    private var local = LocalCounters()
    private var running = true

    private var transports: [TransportID: WebRTCTransport] = [:]
    private var transportsByUfrag: [String: WebRTCTransport] = [:]
    private var transportsByAddress: [TransportAddress: WebRTCTransport] = [:]
    private var producers: [ProducerID: Producer] = [:]
    private var consumers: [ConsumerID: Consumer] = [:]

    private var nextTickMs: Int64 = 0
    private var nextReportMs: Int64 = 0
    private let consentTimeoutMs: Int64
    /// At most one keyframe request per producer in this interval, however many viewers ask.
    static let keyframeRequestIntervalMs: Int64 = 500
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
            let now = MonotonicClock.milliseconds()
            let timeout = Int32(max(0, min(20, nextTickMs - now)))
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, timeout)
            if ready > 0 {
                if fds[1].revents != 0 { commandSignal.drain() }
                if fds[0].revents != 0 { receiveAvailable() }
            }
            drainCommands()
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

    /// Reads batches until the socket is empty (bounded, so commands and timers keep their turn).
    private func receiveAvailable() {
        for _ in 0..<32 {
            let received = sabha_recv_batch(socket.fd, receiveBatch.slots, UInt32(DatagramBatch.capacity))
            if received <= 0 { break }
            let now = MonotonicClock.milliseconds()
            for i in 0..<Int(received) {
                local.packetsReceived &+= 1
                handleDatagram(receiveBatch.slots + i, now: now)
            }
            flushSends()
            if received < DatagramBatch.capacity { break }
        }
    }

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
            transport.profile = keys.profile
        } catch {
            log("transport \(transport.id): SRTP setup failed: \(error)")
            closeTransport(transport, reason: .dtlsFailed)
            return
        }
        emit(.transportConnected(transport.id, keys.profile))
        // Viewers need a keyframe to start: ask the publishers now that we can decrypt their feedback paths.
        for consumer in transport.consumers where consumer.waitingForKeyframe {
            requestKeyframe(consumer.producer, now: now)
        }
    }

    // MARK: - RTP

    @inline(__always)
    private func handleRTP(_ data: UnsafeMutableRawPointer, length: Int, from source: TransportAddress, now: Int64) {
        guard let transport = transportsByAddress[source] else { local.drop(.unknownSource); return }
        guard let srtp = transport.srtpInbound else { local.drop(.notConnected); return }
        var plainLength = length
        switch srtp.unprotectRTP(data, length: &plainLength) {
        case .ok: break
        case .replayed: local.drop(.srtpReplay); return
        case .streamTableFull: local.drop(.srtpStreamLimit); return
        default: local.drop(.srtpAuthFailed); return
        }
        let bytes = UnsafeRawBufferPointer(start: data, count: plainLength)
        guard let header = RTPHeader.parse(bytes) else { local.drop(.malformed); return }
        guard let producer = transport.producer(ssrc: header.ssrc, payloadType: header.payloadType) else {
            local.drop(.noProducer)
            return
        }
        producer.noteSequence(header.sequenceNumber)
        if header.payloadType != producer.parameters.payloadType { return }
        for consumer in producer.consumers {
            forward(header, bytes, to: consumer, now: now)
        }
    }

    @inline(__always)
    private func forward(_ header: RTPHeader, _ packet: UnsafeRawBufferPointer, to consumer: Consumer, now: Int64) {
        let transport = consumer.transport
        guard let srtp = transport.srtpOutbound, let destination = transport.selected else { return }
        guard consumer.admits(header, packet) else {
            requestKeyframe(consumer.producer, now: now)
            return
        }
        guard let buffer = pool.acquire() else { local.drop(.poolExhausted); return }
        let out = pool.pointer(buffer)
        var length = consumer.rewrite(header, packet, into: out)
        guard srtp.protectRTP(out, length: &length) == .ok else {
            pool.release(buffer)
            local.drop(.sendFailed)
            return
        }
        consumer.noteForwarded(header)
        local.rtpForwarded &+= 1
        enqueueSend(buffer: buffer, length: length, to: destination)
    }

    // MARK: - RTCP

    private func handleRTCP(_ data: UnsafeMutableRawPointer, length: Int, from source: TransportAddress, now: Int64) {
        guard let transport = transportsByAddress[source] else { local.drop(.unknownSource); return }
        guard let srtp = transport.srtpInbound else { local.drop(.notConnected); return }
        var plainLength = length
        switch srtp.unprotectRTCP(data, length: &plainLength) {
        case .ok: break
        case .replayed: local.drop(.srtpReplay); return
        case .streamTableFull: local.drop(.srtpStreamLimit); return
        default: local.drop(.srtpAuthFailed); return
        }
        let compound = RTCPCompound(UnsafeRawBufferPointer(start: data, count: plainLength))
        for packet in compound where packet.packetType == RTCPPacketType.payloadSpecificFeedback {
            // PLI or FIR from a viewer: one throttled keyframe request to the publisher.
            var mediaSSRC: UInt32?
            if packet.count == RTCPPictureLossIndication.format {
                mediaSSRC = RTCPPictureLossIndication.parse(packet)?.mediaSSRC
            } else if packet.count == RTCPFullIntraRequest.format,
                      let fir = RTCPFullIntraRequest.parse(packet), fir.entryCount > 0 {
                mediaSSRC = fir.entry(0).ssrc
            }
            guard let ssrc = mediaSSRC, let consumer = transport.consumersBySSRC[ssrc] else { continue }
            requestKeyframe(consumer.producer, now: now)
        }
        if !compound.isWellFormed { local.drop(.rtcpMalformed) }
    }

    /// Sends a PLI to the producer's publisher, at most once per interval per producer.
    private func requestKeyframe(_ producer: Producer, now: Int64) {
        guard producer.parameters.kind == .video,
              now - producer.lastKeyframeRequestMs >= Self.keyframeRequestIntervalMs else { return }
        let publisher = producer.transport
        guard let srtp = publisher.srtpOutbound, let destination = publisher.selected, producer.ssrc != 0 else { return }
        producer.lastKeyframeRequestMs = now
        guard let buffer = pool.acquire() else { local.drop(.poolExhausted); return }
        let out = pool.pointer(buffer)
        var length = RTCPPictureLossIndication.write(
            senderSSRC: publisher.rtcpSSRC, mediaSSRC: producer.ssrc,
            into: UnsafeMutableRawBufferPointer(start: out, count: PacketBufferPool.bufferSize))
        guard length > 0, srtp.protectRTCP(out, length: &length) == .ok else {
            pool.release(buffer)
            return
        }
        enqueueSend(buffer: buffer, length: length, to: destination)
    }

    /// Receiver reports to publishers once a second: browsers' loss-based rate control needs them to ramp up.
    private func sendReceiverReports() {
        for transport in transports.values where transport.isConnected && !transport.producers.isEmpty {
            guard let srtp = transport.srtpOutbound, let destination = transport.selected else { continue }
            for producer in transport.producers where producer.receivedPackets > 0 {
                guard let buffer = pool.acquire() else { return }
                let out = pool.pointer(buffer)
                var block = RTCPReportBlock(
                    ssrc: producer.ssrc, fractionLost: 0, cumulativeLost: 0,
                    extendedHighestSequenceNumber: producer.extendedHighestSequence, jitter: 0,
                    lastSenderReport: 0, delaySinceLastSenderReport: 0)
                var length = withUnsafePointer(to: &block) { blockPointer in
                    RTCPReceiverReport.write(
                        ssrc: transport.rtcpSSRC, reportBlocks: UnsafeBufferPointer(start: blockPointer, count: 1),
                        into: UnsafeMutableRawBufferPointer(start: out, count: PacketBufferPool.bufferSize))
                }
                guard length > 0, srtp.protectRTCP(out, length: &length) == .ok else {
                    pool.release(buffer)
                    continue
                }
                enqueueSend(buffer: buffer, length: length, to: destination)
            }
        }
    }

    // MARK: - Sending

    @inline(__always)
    private func enqueueSend(buffer: Int32, length: Int, to destination: TransportAddress) {
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
        if now >= nextReportMs {
            nextReportMs = now + 1000
            sendReceiverReports()
            for consumer in consumers.values where consumer.waitingForKeyframe && consumer.transport.isConnected {
                requestKeyframe(consumer.producer, now: now)
            }
        }
        flushSends()
        publishCounters()
    }

    private func publishCounters() {
        counters.transports.store(transports.count, ordering: .relaxed)
        counters.producers.store(producers.count, ordering: .relaxed)
        counters.consumers.store(consumers.count, ordering: .relaxed)
        counters.poolInUse.store(poolInUse, ordering: .relaxed)
        counters.packetsReceived.store(local.packetsReceived, ordering: .relaxed)
        counters.packetsSent.store(local.packetsSent, ordering: .relaxed)
        counters.rtpForwarded.store(local.rtpForwarded, ordering: .relaxed)
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
                let producer = Producer(id: id, transport: transport, parameters: parameters)
                transport.producers.append(producer)
                for ssrc in parameters.ssrcs { transport.producersBySSRC[ssrc] = producer }
                producers[id] = producer
                reply.resume()
            case let .addConsumer(transportID, id, parameters, reply):
                guard let transport = transports[transportID] else {
                    reply.resume(throwing: MediaError.unknownTransport(transportID))
                    continue
                }
                guard let producer = producers[parameters.producer] else {
                    reply.resume(throwing: MediaError.unknownProducer(parameters.producer))
                    continue
                }
                let consumer = Consumer(id: id, transport: transport, producer: producer, parameters: parameters)
                transport.consumers.append(consumer)
                transport.consumersBySSRC[parameters.ssrc] = consumer
                producer.consumers.append(consumer)
                consumers[id] = consumer
                reply.resume()
            case let .closeProducer(id, reply):
                if let producer = producers[id] { closeProducer(producer) }
                reply.resume()
            case let .closeConsumer(id, reply):
                if let consumer = consumers[id] {
                    detach(consumer)
                    if let index = consumer.producer.consumers.firstIndex(where: { $0 === consumer }) {
                        consumer.producer.consumers.remove(at: index)
                    }
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
            }
        }
        publishCounters()
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
            producers[producer.id] = nil
            emit(.producerClosed(producer.id))
        }
        for consumer in transport.consumers {
            if let index = consumer.producer.consumers.firstIndex(where: { $0 === consumer }) {
                consumer.producer.consumers.remove(at: index)
            }
            consumers[consumer.id] = nil
        }
        if reason != .dtlsClosed && reason != .consentExpired && reason != .dtlsFailed, let destination = transport.selected {
            transport.dtls.close()
            sendDTLSOutput(transport, to: destination)
        }
        transport.producers.removeAll()
        transport.producersBySSRC.removeAll()
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
        let transport = producer.transport
        if let index = transport.producers.firstIndex(where: { $0 === producer }) {
            transport.producers.remove(at: index)
        }
        for (ssrc, candidate) in transport.producersBySSRC where candidate === producer {
            transport.producersBySSRC[ssrc] = nil
        }
        producers[producer.id] = nil
        emit(.producerClosed(producer.id))
    }

    /// Removes a consumer from its subscriber transport (its producer is going away).
    private func detach(_ consumer: Consumer) {
        let transport = consumer.transport
        if let index = transport.consumers.firstIndex(where: { $0 === consumer }) {
            transport.consumers.remove(at: index)
        }
        transport.consumersBySSRC[consumer.parameters.ssrc] = nil
        consumers[consumer.id] = nil
    }

    private func emit(_ event: MediaEvent) {
        events.send(.media(event))
    }

    private func log(_ message: String) {
        events.send(.log("worker \(index): \(message)"))
    }
}

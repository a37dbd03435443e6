/// The packet path for media: a publisher's SRTP packet is decrypted, bound to its producer layer, noted for
/// receive statistics, NACKs and retransmissions, then copied to every consumer here (each decides, rewrites,
/// protects and queues its copy) and to every worker with consumers of it (through a `PacketPipe`).
extension MediaWorker {
    @inline(__always)
    func handleRTP(_ data: UnsafeMutableRawPointer, length: Int, from source: TransportAddress, now: Int64) {
        guard let transport = tables.transportsByAddress[source] ?? relay(data, length: length, ssrcOffset: 8, from: source) else {
            local.drop(.unknownSource)
            return
        }
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
            // RFC 4588: a retransmission we asked for. Publishers also send RTX of packets that arrived long ago as
            // bandwidth probes (Firefox: a few hundred a second), and padding-only RTX: those repair nothing, so
            // they are not forwarded (viewers would get duplicates) nor counted as recovered.
            guard header.payloadType == producer.parameters.rtxPayloadType, layer.ssrc != 0,
                  let original = RTXPacket.unwrap(data, length: plainLength, header: header,
                                                  mediaPayloadType: producer.parameters.payloadType, mediaSSRC: layer.ssrc),
                  let restored = RTPHeader.parse(UnsafeRawBufferPointer(start: data, count: original)) else {
                local.drop(.rtxUnrequested)
                return
            }
            guard layer.nacks?.isMissing(restored.sequenceNumber) == true else {
                local.drop(.rtxUnrequested)
                return
            }
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
    func route(_ header: RTPHeader, _ bytes: UnsafeRawBufferPointer, producer: Producer, layer: ProducerLayer,
               recovered: Bool, now: Int64) {
        // Every copy gets our header and an SRTP tag in a pool buffer of the same size: refuse what cannot fit,
        // here, before any state changes (a datagram may be up to the receive buffer's size).
        guard header.payloadLength <= Consumer.maxPayloadLength else { local.drop(.tooLarge); return }
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
        if !producer.relays.isEmpty { relay(bytes, producer: producer, layer: layer.index) }
        if let tap = producer.tap { self.tap(bytes, into: tap, producer: producer, layer: layer.index) }
        // Each copy is protected out of place: the header and the rewritten descriptor (up to `head`) are written
        // into the copy's buffer, `payload` is encrypted from the decrypted input behind them (not copied first).
        let head = packet.rewrittenEnd
        let payload = UnsafeRawBufferPointer(rebasing: bytes[header.headerLength..<(header.headerLength + header.payloadLength)])
        // The list as unretained references: the tables keep every consumer alive, and forwarding a copy
        // neither adds nor removes one, so no reference counting per copy.
        producer.consumers.withUnsafeBufferPointer { list in
            list.withMemoryRebound(to: Unmanaged<Consumer>.self) { consumers in
                for consumer in consumers {
                    consumer._withUnsafeGuaranteedRef { forward(packet, bytes, head: head, payload: payload, to: $0, now: now) }
                }
            }
        }
    }

    /// One consumer's copy: it decides (layer, keyframe) and numbers it, the sender writes, protects and queues it.
    @inline(__always)
    private func forward(_ packet: IncomingPacket, _ bytes: UnsafeRawBufferPointer, head: Int, payload: UnsafeRawBufferPointer,
                         to consumer: Consumer, now: Int64) {
        guard !consumer.paused else { return }
        let transport = consumer.transport
        guard PacketSender<IO>.canSend(on: transport) else { return }
        var needsKeyframe = false
        let numbers = consumer.accept(packet, nowMs: now, needsKeyframe: &needsKeyframe)
        if needsKeyframe { requestKeyframe(consumer.producer, layer: consumer.targetSpatial, now: now) }
        guard let numbers else { return }
        if consumer.layersChanged { noteLayersChanged(consumer) }
        let length = sender.sendRTP(on: transport, payload: payload) { out, transportSequence in
            consumer.write(packet, bytes, numbers, transportSequence: transportSequence, rtx: false, payloadEnd: head, into: out)
        }
        guard length > 0 else { return }
        consumer.noteForwarded(packet, numbers)
        transport.mediaOctets &+= UInt64(length)
        transport.sentOctets &+= UInt64(length)
        local.rtpForwarded &+= 1
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

    // MARK: - Relays to other nodes

    /// The relay a datagram from an address no ICE check bound comes from: the one its SSRC (at `ssrcOffset`:
    /// 8 in RTP, 4 in RTCP) belongs to, when it also comes from that relay's address.
    @inline(__always)
    func relay(_ data: UnsafeMutableRawPointer, length: Int, ssrcOffset: Int, from source: TransportAddress) -> WebRTCTransport? {
        guard !tables.relaysBySSRC.isEmpty, length >= ssrcOffset + 4 else { return nil }
        let ssrc = UInt32(bigEndian: data.loadUnaligned(fromByteOffset: ssrcOffset, as: UInt32.self))
        guard let relay = tables.relaysBySSRC[ssrc], relay.selected == source else { return nil }
        return relay
    }

    /// Copies a media packet to every node with viewers of its producer: as it came, under the relay's SSRC for
    /// its layer, protected with the relay's keys (the other node numbers and rewrites for its own viewers).
    @inline(__always)
    private func relay(_ bytes: UnsafeRawBufferPointer, producer: Producer, layer: Int) {
        guard let source = bytes.baseAddress else { return }
        for relay in producer.relays {
            let ssrc = relay.ssrc(layer: layer)
            let length = sender.sendRTP(on: relay.transport) { out, _ in
                out.copyMemory(from: source, byteCount: bytes.count)
                out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
                return bytes.count
            }
            if length > 0 {
                relay.transport.sentOctets &+= UInt64(length)
                local.packetsRelayed &+= 1
            }
        }
    }

    // MARK: - Pipes to other workers

    /// Makes this batch's piped packets visible and rings each receiving worker once.
    @inline(__always)
    func publishPipes() {
        guard pipesPending else { return }
        pipesPending = false
        for link in links where link.outgoing?.publish() == true { link.signal.signal() }
    }

    /// Forwards what other workers piped to this one, as if it had arrived here (bounded per turn); true when
    /// some pipe still has packets waiting.
    func receivePiped() -> Bool {
        var any = false
        var more = false
        for link in links {
            guard let pipe = link.incoming else { continue }
            let now = clock.milliseconds()
            batchMicroseconds = clock.microseconds()
            let count = pipe.drain(limit: WorkerTiming.pipedPerTurn) { slot, data in
                handlePiped(slot, data, now: now)
            }
            any = any || count > 0
            more = more || count == WorkerTiming.pipedPerTurn
        }
        if any { sender.flush() }
        return more
    }

    @inline(__always)
    private func handlePiped(_ slot: PacketPipe.SlotHeader, _ data: UnsafeMutableRawPointer, now: Int64) {
        guard let producer = tables.producers[slot.producer], producer.isMirror, Int(slot.layer) < producer.layers.count else {
            return  // its last consumer here closed while packets were in flight
        }
        let length = Int(slot.length)
        guard let header = RTPHeader.parse(UnsafeRawBufferPointer(start: data, count: length)) else { return }
        let layer = producer.layers[Int(slot.layer)]
        if layer.ssrc == 0 { layer.ssrc = header.ssrc }
        route(header, UnsafeRawBufferPointer(start: data, count: length), producer: producer, layer: layer,
              recovered: false, now: now)
    }

    /// Copies a packet into its producer's tap and makes it visible at once (the recorder polls; no doorbell).
    @inline(__always)
    private func tap(_ bytes: UnsafeRawBufferPointer, into tap: PacketPipe, producer: Producer, layer: Int) {
        if tap.push(producer: producer.id, layer: layer, bytes: bytes) {
            _ = tap.publish()
        } else {
            local.drop(.pipeFull)
        }
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
    func retryUndelivered() {
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
}

/// Every index a worker keeps of its transports, producers and consumers, changed only through here so that they
/// stay in step: a transport by id, by ICE ufrag and by each address it validated; producers (and mirrors of other
/// workers' producers) and consumers by id, with their lists on transports and producers and the consumers' SSRCs;
/// the rooms' active-speaker detectors; the memory of retransmission buffers. Side effects of a teardown (events,
/// DTLS close, pipe commands) are the worker's; here is only the bookkeeping. Owned by the worker thread.
final class WorkerTables {
    private(set) var transports: [TransportID: WebRTCTransport] = [:]
    private(set) var transportsByUfrag: [String: WebRTCTransport] = [:]
    private(set) var transportsByAddress: [TransportAddress: WebRTCTransport] = [:]
    /// Relays to other nodes by the SSRCs their packets come with (`WebRTCTransport.isRelay`): several relays may
    /// join the same two media ports (one per room), so the address alone cannot tell them apart.
    private(set) var relaysBySSRC: [UInt32: WebRTCTransport] = [:]
    private(set) var producers: [ProducerID: Producer] = [:]
    private(set) var consumers: [ConsumerID: Consumer] = [:]
    /// Mirrors in `producers` (not counted as producers in the stats).
    private(set) var mirrorCount = 0
    /// One active-speaker detector per room on this worker.
    private(set) var speakerDetectors: [String: RoomSpeakers] = [:]
    /// Bytes held by the retransmission buffers of this worker's producers and mirrors.
    private(set) var retransmissionBytes = 0
    /// Producers of other workers that closed, most recent last (bounded): a consumer for one of them that
    /// arrives after the news is refused instead of waiting on a mirror nothing feeds.
    private var goneProducers: [ProducerID] = []
    static let goneProducersRemembered = 256

    var producerCount: Int { producers.count - mirrorCount }

    // MARK: - Transports

    func add(_ transport: WebRTCTransport) {
        transports[transport.id] = transport
        if !transport.isRelay { transportsByUfrag[transport.localUfrag] = transport }
    }

    /// Datagrams whose first SSRC is `ssrc` (and that come from the relay's address) are the relay's. False when
    /// another relay here already takes that SSRC.
    @discardableResult
    func bindRelay(_ ssrc: UInt32, to transport: WebRTCTransport) -> Bool {
        if let other = relaysBySSRC[ssrc], other !== transport { return false }
        relaysBySSRC[ssrc] = transport
        return true
    }

    /// Takes the transport out of every index (its producers and consumers must be gone already).
    func remove(_ transport: WebRTCTransport) {
        // Consumers reach their transport and producer unretained (`Consumer.transport`): none may outlive them.
        assert(transport.consumers.isEmpty && transport.producers.isEmpty, "transport removed with consumers or producers")
        for address in transport.addresses where transportsByAddress[address] === transport {
            transportsByAddress[address] = nil
        }
        if transport.isRelay {
            for (ssrc, relay) in relaysBySSRC where relay === transport { relaysBySSRC[ssrc] = nil }
            for relayed in transport.relayedLayers.values {
                relayed.producer.relays.removeAll { $0.transport === transport }
            }
            transport.relayedLayers.removeAll()
        } else {
            transportsByUfrag[transport.localUfrag] = nil
        }
        transports[transport.id] = nil
    }

    /// New ICE credentials for a transport; of its validated addresses only the selected one stays bound.
    func restartICE(_ transport: WebRTCTransport, localUfrag: String, localPassword: String, remoteUfrag: String) {
        transportsByUfrag[transport.localUfrag] = nil
        transport.localUfrag = localUfrag
        transport.localPasswordKey = Array(localPassword.utf8)
        transport.remoteUfrag = remoteUfrag
        transportsByUfrag[localUfrag] = transport
        for address in transport.addresses where address != transport.selected && transportsByAddress[address] === transport {
            transportsByAddress[address] = nil
        }
        transport.addresses.removeAll { $0 != transport.selected }
    }

    /// Forgets an address whose path is gone (its ICE-TCP connection closed); a transport that sent media there
    /// falls back to another address it validated, if any.
    func unbind(_ address: TransportAddress) {
        guard let transport = transportsByAddress.removeValue(forKey: address) else { return }
        transport.addresses.removeAll { $0 == address }
        if transport.selected == address { transport.selected = transport.addresses.last }
    }

    /// Routes datagrams from `address` to `transport` (an ICE check from it authenticated).
    func bind(_ address: TransportAddress, to transport: WebRTCTransport) {
        transport.addresses.append(address)
        transportsByAddress[address] = transport
    }

    // MARK: - Producers

    /// A producer received on this worker, with its SSRCs, its room's speaker detection and its memory.
    func add(_ producer: Producer, on transport: WebRTCTransport) {
        transport.producers.append(producer)
        for layer in producer.layers {
            if transport.isRelay && layer.ssrc != 0 { bindRelay(layer.ssrc, to: transport) }
            if layer.ssrc != 0 { transport.streamsBySSRC[layer.ssrc] = StreamBinding(producer: producer, layer: layer.index, isRTX: false) }
            if layer.rtxSSRC != 0 { transport.streamsBySSRC[layer.rtxSSRC] = StreamBinding(producer: producer, layer: layer.index, isRTX: true) }
        }
        if producer.audioLevelID != 0 {
            let speakers = speakerDetectors[transport.room] ?? RoomSpeakers()
            speakerDetectors[transport.room] = speakers
            _ = speakers.detector.addSource(producer.id.rawValue)
            producer.speakers = speakers
        }
        producers[producer.id] = producer
        noteMemory(producer, on: transport, sign: 1)
    }

    /// A mirror of another worker's producer, for consumers here.
    func addMirror(_ mirror: Producer) {
        producers[mirror.id] = mirror
        mirrorCount += 1
        noteMemory(mirror, on: nil, sign: 1)
    }

    /// Takes a producer (or mirror) out of the indexes; its consumers must be detached already. Returns whether
    /// it left its room's speaker detection as the current speaker (the worker then says so).
    @discardableResult
    func remove(_ producer: Producer) -> Bool {
        guard producers[producer.id] === producer else { return false }
        assert(producer.consumers.isEmpty, "producer removed with consumers")
        producers[producer.id] = nil
        if producer.isMirror { mirrorCount -= 1 }
        let transport = producer.transport
        if let transport {
            if let index = transport.producers.firstIndex(where: { $0 === producer }) { transport.producers.remove(at: index) }
            for (ssrc, binding) in transport.streamsBySSRC where binding.producer === producer {
                transport.streamsBySSRC[ssrc] = nil
                if transport.isRelay && relaysBySSRC[ssrc] === transport { relaysBySSRC[ssrc] = nil }
            }
            transport.forgetStreams(of: producer)
        }
        unrelay(producer)
        noteMemory(producer, on: transport, sign: -1)
        return forgetSpeaker(producer)
    }

    /// A producer relayed to other nodes: its relays (each relay's SSRCs for it) forget it.
    func unrelay(_ producer: Producer) {
        for relay in producer.relays {
            for index in producer.layers.indices {
                let ssrc = relay.ssrc(layer: index)
                relay.transport.relayedLayers[ssrc] = nil
                relay.transport.srtpOutbound?.removeStream(ssrc)
            }
        }
        producer.relays.removeAll()
    }

    /// Takes a closing producer out of its room's speaker detection (and the room's detector, once empty).
    private func forgetSpeaker(_ producer: Producer) -> Bool {
        guard let speakers = producer.speakers else { return false }
        producer.speakers = nil
        speakers.detector.removeSource(producer.id.rawValue)
        guard let room = producer.transport?.room else { return false }
        var wasSpeaking = false
        if speakers.current == producer.id {
            speakers.current = nil
            wasSpeaking = true
        }
        if !producers.values.contains(where: { $0.speakers === speakers }) {
            speakerDetectors[room] = nil
        }
        return wasSpeaking
    }

    private func noteMemory(_ producer: Producer, on transport: WebRTCTransport?, sign: Int) {
        let bytes = producer.retransmissionBytes * sign
        retransmissionBytes += bytes
        transport?.retransmissionBytes += bytes
    }

    /// Remembers that another worker's producer closed.
    func noteGone(_ id: ProducerID) {
        if goneProducers.count == Self.goneProducersRemembered { goneProducers.removeFirst() }
        goneProducers.append(id)
    }

    func isGone(_ id: ProducerID) -> Bool { goneProducers.contains(id) }

    // MARK: - Consumers

    func add(_ consumer: Consumer) {
        let transport = consumer.transport
        transport.consumers.append(consumer)
        transport.consumersBySSRC[consumer.parameters.ssrc] = consumer
        if consumer.parameters.rtxSSRC != 0 { transport.consumersBySSRC[consumer.parameters.rtxSSRC] = consumer }
        consumer.producer.consumers.append(consumer)
        consumers[consumer.id] = consumer
    }

    /// Takes a consumer off its subscriber transport and out of the index (its SRTP streams are freed).
    func detach(_ consumer: Consumer) {
        let transport = consumer.transport
        if let index = transport.consumers.firstIndex(where: { $0 === consumer }) { transport.consumers.remove(at: index) }
        transport.consumersBySSRC[consumer.parameters.ssrc] = nil
        if consumer.parameters.rtxSSRC != 0 { transport.consumersBySSRC[consumer.parameters.rtxSSRC] = nil }
        transport.forgetStreams(of: consumer)
        consumers[consumer.id] = nil
    }

    /// Takes a consumer out of its producer's list. Returns the producer when it is a mirror (its home worker
    /// hears of it: one pipe reference less); a mirror left without consumers goes.
    func unlink(_ consumer: Consumer) -> Producer? {
        let producer = consumer.producer
        if let position = producer.consumers.firstIndex(where: { $0 === consumer }) { producer.consumers.remove(at: position) }
        guard producer.isMirror else { return nil }
        if producer.consumers.isEmpty { remove(producer) }
        return producer
    }
}

/// A room's active-speaker detector and who it names now.
final class RoomSpeakers {
    let detector = ActiveSpeakerDetector()
    var current: ProducerID?
}

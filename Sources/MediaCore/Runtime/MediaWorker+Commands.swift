/// What the control plane and the other workers ask of this worker, one handler per command; each replies to its
/// caller's continuation. The handlers are also what engine tests and benchmarks call to set a worker up.
extension MediaWorker {
    func drainCommands() {
        while let command = commands.pop() {
            switch command {
            case let .createTransport(id, parameters, ufrag, password, reply):
                reply.resume(with: Result { () throws(MediaError) in
                    try createTransport(id, parameters, localUfrag: ufrag, localPassword: password)
                })
            case let .restartICE(id, remoteUfrag, ufrag, password, reply):
                reply.resume(with: Result { () throws(MediaError) in
                    try restartICE(id, remoteUfrag: remoteUfrag, localUfrag: ufrag, localPassword: password)
                })
            case let .addProducer(transportID, id, parameters, reply):
                reply.resume(with: Result { () throws(MediaError) in try addProducer(id, parameters, on: transportID) })
            case let .createRelay(id, parameters, reply):
                reply.resume(with: Result { () throws(MediaError) in try createRelay(id, parameters) })
            case let .startRelay(id, reply):
                reply.resume(with: Result { () throws(MediaError) in try startRelay(id) })
            case let .relayProducer(id, transportID, ssrcs, reply):
                reply.resume(with: Result { () throws(MediaError) in try relayProducer(id, over: transportID, ssrcs: ssrcs) })
            case let .addConsumer(transportID, id, parameters, piped, reply):
                reply.resume(with: Result { () throws(MediaError) in try addConsumer(id, parameters, on: transportID, piped: piped) })
            case let .closeProducer(id, reply):
                if let producer = tables.producers[id] { closeProducer(producer) }
                reply.resume()
            case let .closeConsumer(id, reply):
                if let consumer = tables.consumers[id] { closeConsumer(consumer) }
                reply.resume()
            case let .closeTransport(id, reply):
                if let transport = tables.transports[id] { closeTransport(transport, reason: .requested) }
                sender.flush()
                reply?.resume()
            case let .setPreferredLayers(id, spatial, temporal):
                if let consumer = tables.consumers[id] {
                    consumer.preferredSpatial = max(0, spatial)
                    consumer.preferredTemporal = max(0, temporal)
                }
            case let .setPaused(id, paused):
                if let consumer = tables.consumers[id] { setPaused(consumer, paused) }
            case .shutdown:
                running = false
            case let .openTap(tap, reply):
                reply.resume(with: Result { () throws(MediaError) in try openTap(tap) })
            case let .closeTap(id):
                if let producer = tables.producers[id], !producer.isMirror { producer.tap = nil }
            case let .openPipe(id, worker, reply):
                reply.resume(with: Result { () throws(MediaError) in try openPipe(id, toWorker: worker) })
            case let .closePipe(id, worker):
                closePipe(id, toWorker: worker)
            case let .producerGone(id):
                producerGone(id)
            case let .senderReport(id, layer, ntp, rtp):
                if let mirror = tables.producers[id], mirror.isMirror, layer < mirror.layers.count {
                    mirror.layers[layer].noteSenderReport(ntp: ntp, rtp: rtp, nowMicroseconds: clock.microseconds())
                }
            case let .requestKeyframe(id, layer):
                if let producer = tables.producers[id], !producer.isMirror {
                    requestKeyframe(producer, layer: layer, now: clock.milliseconds())
                }
            }
        }
        publishCounters()
    }

    /// mediasoup's `consumer.pause()` and `resume()`: a paused consumer forwards nothing (`forward`), costs nothing
    /// in its viewer's bandwidth share (`LayerAllocator`) and asks for no keyframes; on resume it starts again at a
    /// keyframe, asked for at once (the throttle still applies) so that the viewer's tile starts promptly.
    func setPaused(_ consumer: Consumer, _ paused: Bool) {
        guard consumer.paused != paused else { return }
        consumer.paused = paused
        guard !paused else { return }
        consumer.resumeAtKeyframe()
        if consumer.waitingForKeyframe && consumer.transport.isConnected {
            requestKeyframe(consumer.producer, layer: consumer.targetSpatial, now: clock.milliseconds())
            sender.flush()   // now, not with the next batch or tick
        }
    }

    // MARK: - Transports, producers, consumers

    func createTransport(_ id: TransportID, _ parameters: TransportParameters, localUfrag: String,
                         localPassword: String) throws(MediaError) {
        let dtls: DTLSEndpoint
        do {
            dtls = try DTLSEndpoint(context: dtlsContext, role: .server, remoteFingerprints: parameters.remoteFingerprints)
        } catch let error as MediaError {
            throw error
        } catch {
            throw MediaError.dtls("\(error)")
        }
        tables.add(WebRTCTransport(id: id, parameters: parameters, localUfrag: localUfrag, localPassword: localPassword,
                                   dtls: dtls, now: clock.milliseconds()))
    }

    /// ICE restart: checks must now name the new ufrag and be signed with the new password. The addresses
    /// validated so far are forgotten except the selected one, which keeps carrying media (and has until the
    /// consent timeout to be checked again) while the peer tries its new pairs.
    func restartICE(_ id: TransportID, remoteUfrag: String, localUfrag: String, localPassword: String) throws(MediaError) {
        guard let transport = tables.transports[id] else { throw MediaError.unknownTransport(id) }
        tables.restartICE(transport, localUfrag: localUfrag, localPassword: localPassword, remoteUfrag: remoteUfrag)
        transport.lastConsentMs = clock.milliseconds()
        log("transport \(id) (\(transport.label)): ICE restart")
    }

    // MARK: - Relays between nodes

    /// A relay to another node: SRTP both ways with the agreed keys, media to its address from the start, and its
    /// datagrams recognised by the SSRCs it sends with.
    func createRelay(_ id: TransportID, _ parameters: RelayParameters) throws(MediaError) {
        guard let remote = TransportAddress(ip: parameters.remoteIP, port: parameters.remotePort) else {
            throw MediaError.configuration("relay address \(parameters.remoteIP):\(parameters.remotePort) is not an IP address and port")
        }
        let transport = WebRTCTransport(id: id, relay: parameters, remote: remote, now: clock.milliseconds())
        for ssrc in parameters.inboundSSRCs where tables.relaysBySSRC[ssrc] != nil {
            throw MediaError.configuration("relay SSRC \(ssrc) is taken by another relay on this worker")
        }
        do {
            try installKeys(parameters.keys, on: transport)
        } catch {
            throw MediaError.srtp("relay keys refused: \(error)")
        }
        tables.add(transport)
        for ssrc in parameters.inboundSSRCs { tables.bindRelay(ssrc, to: transport) }
        log("transport \(id) (\(parameters.label)): relay with \(remote)\(parameters.waitsForStart ? ", waiting for its start" : "")")
    }

    /// The other node has its end of the relay: media goes there from now on, starting at keyframes.
    func startRelay(_ id: TransportID) throws(MediaError) {
        guard let transport = tables.transports[id], transport.isRelay, let remote = transport.relayRemote else {
            throw MediaError.unknownTransport(id)
        }
        guard transport.selected == nil else { return }
        transport.selected = remote
        let now = clock.milliseconds()
        for relayed in transport.relayedLayers.values where relayed.producer.parameters.kind == .video {
            requestKeyframe(relayed.producer, layer: relayed.layer, now: now)
        }
    }

    /// Sends every media packet of a producer received here over the relay too, its layers under `ssrcs`.
    func relayProducer(_ id: ProducerID, over transportID: TransportID, ssrcs: [UInt32]) throws(MediaError) -> ProducerParameters {
        guard let producer = tables.producers[id], !producer.isMirror else { throw MediaError.unknownProducer(id) }
        guard let transport = tables.transports[transportID], transport.isRelay else { throw MediaError.unknownTransport(transportID) }
        guard ssrcs.count >= producer.layers.count, Set(ssrcs).count == ssrcs.count, !ssrcs.contains(0) else {
            throw MediaError.configuration("a relayed producer needs \(producer.layers.count) distinct non-zero SSRCs")
        }
        guard !producer.relays.contains(where: { $0.transport === transport }) else {
            throw MediaError.configuration("producer \(id) is already relayed over \(transportID)")
        }
        let relay = ProducerRelay(transport: transport, ssrcs: (ssrcs[0], ssrcs.count > 1 ? ssrcs[1] : 0, ssrcs.count > 2 ? ssrcs[2] : 0))
        for layer in producer.layers.indices {
            transport.relayedLayers[relay.ssrc(layer: layer)] = RelayedLayer(producer: producer, layer: layer)
        }
        producer.relays.append(relay)
        followStreams(transport)
        // The other node's viewers start at a keyframe of each layer (once it is sending: `startRelay`).
        if producer.parameters.kind == .video && transport.selected != nil {
            for layer in producer.layers.indices { requestKeyframe(producer, layer: layer, now: clock.milliseconds()) }
        }
        return producer.parameters
    }

    func addProducer(_ id: ProducerID, _ parameters: ProducerParameters, on transportID: TransportID) throws(MediaError) {
        guard let transport = tables.transports[transportID] else { throw MediaError.unknownTransport(transportID) }
        let producer = Producer(id: id, transport: transport, home: index, parameters: parameters,
                                retransmissions: roomForRetransmissions(parameters, on: transport))
        tables.add(producer, on: transport)
        if parameters.extensions.transportWideCC != 0 && parameters.feedback.contains(.transportCC)
            && transport.transportWideFeedback == nil {
            transport.transportWideFeedback = TransportWideFeedbackBuilder()
            transport.transportWideIDIn = parameters.extensions.transportWideCC
        }
        followStreams(transport)
    }

    func addConsumer(_ id: ConsumerID, _ parameters: ConsumerParameters, on transportID: TransportID,
                     piped: PipedProducer?) throws(MediaError) {
        guard let transport = tables.transports[transportID] else {
            if let piped { tell(worker: piped.home, .closePipe(parameters.producer, toWorker: index)) }
            throw MediaError.unknownTransport(transportID)
        }
        if piped != nil && tables.isGone(parameters.producer) { throw MediaError.unknownProducer(parameters.producer) }
        if let piped, tables.producers[parameters.producer] == nil {
            tables.addMirror(Producer(id: parameters.producer, transport: nil, home: piped.home, parameters: piped.parameters,
                                      retransmissions: roomForRetransmissions(piped.parameters, on: nil)))
        }
        guard let producer = tables.producers[parameters.producer] else { throw MediaError.unknownProducer(parameters.producer) }
        let consumer = Consumer(id: id, transport: transport, producer: producer, parameters: parameters)
        consumer.targetSpatial = producer.bestActiveLayer(atMost: Int.max, nowMs: clock.milliseconds()) ?? producer.layers.count - 1
        if parameters.extensions.transportWideCC != 0 && parameters.feedback.contains(.transportCC) {
            if transport.sendHistory == nil { transport.sendHistory = TransportWideSendHistory() }
            if transport.estimator == nil { transport.estimator = SendSideBandwidthEstimator() }
        } else if parameters.feedback.contains(.remb), transport.estimator == nil {
            transport.estimator = SendSideBandwidthEstimator()
        }
        tables.add(consumer)
        followStreams(transport)
    }

    /// Whether a new producer's retransmission buffers fit in the worker's and its transport's allowance
    /// (`MediaEngineConfiguration.retransmissionMemoryPer*`); when not, it gets none and that is logged.
    private func roomForRetransmissions(_ parameters: ProducerParameters, on transport: WebRTCTransport?) -> Bool {
        let needed = Producer.retransmissionBytes(parameters)
        guard needed > 0 else { return true }
        if tables.retransmissionBytes + needed > configuration.retransmissionMemoryPerWorker {
            local.retransmissionBuffersRefused &+= 1
            log("retransmission buffers use \(tables.retransmissionBytes >> 20) MiB of the worker's "
                + "\(configuration.retransmissionMemoryPerWorker >> 20) MiB: a new \(parameters.kind.rawValue) producer "
                + "gets none (its viewers' NACKs go unanswered)")
            return false
        }
        if let transport, transport.retransmissionBytes + needed > configuration.retransmissionMemoryPerTransport {
            local.retransmissionBuffersRefused &+= 1
            log("transport \(transport.id) (\(transport.label)): its producers' retransmission buffers would exceed "
                + "\(configuration.retransmissionMemoryPerTransport >> 20) MiB; mid \(parameters.mid) gets none")
            return false
        }
        return true
    }

    // MARK: - Taps and pipes

    /// The recorder wants this producer's packets: a copy of each into its tap from now on, starting at a keyframe
    /// of the top layer (asked for at once; the throttle applies).
    private func openTap(_ tap: MediaTap) throws(MediaError) -> ProducerParameters {
        guard let producer = tables.producers[tap.producer], !producer.isMirror else { throw MediaError.unknownProducer(tap.producer) }
        guard producer.tap == nil else { throw MediaError.configuration("producer \(tap.producer) is already tapped") }
        producer.tap = tap.pipe
        if producer.parameters.kind == .video { requestKeyframe(producer, layer: producer.layers.count - 1, now: clock.milliseconds()) }
        return producer.parameters
    }

    /// Another worker has a consumer of this producer: copy its packets there too.
    private func openPipe(_ id: ProducerID, toWorker worker: Int) throws(MediaError) -> ProducerParameters {
        guard let producer = tables.producers[id], !producer.isMirror else { throw MediaError.unknownProducer(id) }
        guard worker != index, worker < links.count, links[worker].outgoing != nil else {
            throw MediaError.configuration("no pipe from worker \(index) to worker \(worker)")
        }
        producer.pipeReferences[worker, default: 0] += 1
        if !producer.pipes.contains(worker) { producer.pipes.append(worker) }
        return producer.parameters
    }

    private func closePipe(_ id: ProducerID, toWorker worker: Int) {
        guard let producer = tables.producers[id], !producer.isMirror, let count = producer.pipeReferences[worker] else { return }
        if count > 1 {
            producer.pipeReferences[worker] = count - 1
        } else {
            producer.pipeReferences[worker] = nil
            producer.pipes.removeAll { $0 == worker }
        }
    }

    /// Another worker's producer closed: its mirror here and the mirror's consumers go.
    private func producerGone(_ id: ProducerID) {
        tables.noteGone(id)
        guard let mirror = tables.producers[id], mirror.isMirror else { return }
        closeConsumers(of: mirror)
        tables.remove(mirror)
    }
}

/// DTLS records (RFC 6347) of a transport whose address passed ICE: the handshake over the endpoint's memory
/// BIOs, its replies sent as they are, and once connected the SRTP keys it exports (RFC 5764 section 4.2).
extension MediaWorker {
    func handleDTLS(_ bytes: UnsafeRawBufferPointer, from source: TransportAddress, now: Int64) {
        guard let transport = tables.transportsByAddress[source], let dtls = transport.dtls else {
            local.drop(.dtlsUnknownSource)
            return
        }
        let wasConnected = transport.isConnected
        dtls.receive(bytes)
        sendDTLSOutput(transport, to: source)
        switch dtls.state {
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

    func sendDTLSOutput(_ transport: WebRTCTransport, to destination: TransportAddress) {
        transport.dtls?.drainOutgoing { datagram in
            let sent = sender.sendPlain(to: destination) { out in
                guard datagram.count <= out.count else { return 0 }
                out.copyMemory(from: datagram)
                return datagram.count
            }
            if !sent && datagram.count > PacketBufferPool.bufferSize { local.drop(.poolExhausted) }
        }
    }

    private func dtlsConnected(_ transport: WebRTCTransport, now: Int64) {
        guard let keys = transport.dtls?.exportSRTPKeys() else {
            log("transport \(transport.id): DTLS connected without SRTP keys")
            closeTransport(transport, reason: .dtlsFailed)
            return
        }
        do {
            try installKeys(keys, on: transport)
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

    /// SRTP both ways from the exported keys, sized for and following the transport's streams.
    func installKeys(_ keys: SRTPKeyingMaterial, on transport: WebRTCTransport) throws {
        transport.srtpInbound = try SRTPContext(profile: keys.profile, key: keys.remoteKey, salt: keys.remoteSalt, direction: .inbound)
        transport.srtpOutbound = try SRTPContext(profile: keys.profile, key: keys.localKey, salt: keys.localSalt, direction: .outbound)
        transport.profile = keys.profile
        followStreams(transport)
    }

    /// Keeps the transport's SRTP state in step with its streams; says so when a limit is reached.
    func followStreams(_ transport: WebRTCTransport) {
        if !transport.followStreams() {
            log("transport \(transport.id) (\(transport.label)): more than \(SRTPContext.maxStreams) SRTP streams; "
                + "packets of new streams are dropped (srtpStreamLimit)")
        }
    }
}

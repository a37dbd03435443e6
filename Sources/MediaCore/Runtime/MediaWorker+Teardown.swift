/// Closing transports, producers and consumers: `WorkerTables` keeps the indexes in step; here are the side
/// effects (events for the control plane, a DTLS close notification, pipe commands to other workers).
extension MediaWorker {
    func closeTransport(_ transport: WebRTCTransport, reason: TransportCloseReason) {
        guard !transport.closed else { return }
        transport.closed = true
        for producer in transport.producers {
            closeConsumers(of: producer)
            closePipes(producer)
            let wasSpeaking = tables.remove(producer)
            if wasSpeaking { emit(.activeSpeaker(room: transport.room, producer: nil)) }
            emit(.producerClosed(producer.id))
        }
        for consumer in transport.consumers {
            tables.detach(consumer)
            unlink(consumer)
        }
        if reason != .dtlsClosed && reason != .consentExpired && reason != .dtlsFailed, let destination = transport.selected {
            transport.dtls?.close()
            sendDTLSOutput(transport, to: destination)
        }
        transport.streamsBySSRC.removeAll()
        transport.consumersBySSRC.removeAll()
        transport.srtpInbound = nil
        transport.srtpOutbound = nil
        tables.remove(transport)
        emit(.transportClosed(transport.id, reason))
        publishCounters()
    }

    /// Ends one incoming stream (the publisher stopped that track) and every copy of it.
    func closeProducer(_ producer: Producer) {
        closeConsumers(of: producer)
        closePipes(producer)
        if tables.remove(producer), let room = producer.transport?.room {
            emit(.activeSpeaker(room: room, producer: nil))
        }
        emit(.producerClosed(producer.id))
    }

    /// Ends one outgoing copy (the viewer's m-line went away).
    func closeConsumer(_ consumer: Consumer) {
        tables.detach(consumer)
        unlink(consumer)
        emit(.consumerClosed(consumer.id, consumer.transport.id))
    }

    /// Every consumer of a closing producer (or mirror) goes, and its viewer's control plane hears of it.
    func closeConsumers(of producer: Producer) {
        for consumer in producer.consumers {
            tables.detach(consumer)
            emit(.consumerClosed(consumer.id, consumer.transport.id))
        }
        producer.consumers.removeAll()
    }

    /// Takes a consumer out of its producer's list; a mirror's home worker hears of it (one pipe reference less).
    private func unlink(_ consumer: Consumer) {
        guard let mirror = tables.unlink(consumer) else { return }
        tell(worker: mirror.home, .closePipe(mirror.id, toWorker: index))
    }

    /// A producer is closing: the workers it is piped to close their mirrors (and those mirrors' consumers).
    private func closePipes(_ producer: Producer) {
        for worker in producer.pipes { tell(worker: worker, .producerGone(producer.id)) }
        producer.pipes.removeAll()
        producer.pipeReferences.removeAll()
    }
}

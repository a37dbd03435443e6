import Testing
@testable import MediaCore

/// Repairing a path or a stream, on the embedded worker: an ICE restart keeps the call, and RTX that repairs
/// nothing (a publisher's bandwidth probes) is neither forwarded nor counted as recovered.
@Suite struct MediaWorkerRepairTests {
    /// A publisher with RTX (payload type 97, SSRC 1112) and NACK feedback, and one viewer, connected.
    static func rtxPair(_ embedded: EmbeddedWorker) throws -> (publisher: LoopbackPeer, viewer: LoopbackPeer) {
        let publisher = try embedded.peer(ufrag: "pubr")
        let viewer = try embedded.peer(ufrag: "viewr")
        let publisherTransport = try embedded.createTransport(for: publisher, room: "r")
        let producer = try embedded.addProducer(
            on: publisherTransport.id,
            ProducerParameters(kind: .video, mid: "0", ssrcs: [1111], payloadType: 96, clockRate: 90000,
                               extensions: HeaderExtensionIDs(), rtxPayloadType: 97, rtxSSRC: 1112, feedback: [.nack, .pli]))
        let viewerTransport = try embedded.createTransport(for: viewer, room: "r")
        _ = try embedded.addConsumer(
            on: viewerTransport.id,
            ConsumerParameters(producer: producer, mid: "1", ssrc: 2222, payloadType: 100, extensions: HeaderExtensionIDs()))
        #expect(try publisher.connect())
        #expect(try viewer.connect())
        return (publisher, viewer)
    }

    static func media(_ publisher: LoopbackPeer, sequence: UInt16, keyframe: Bool = false) {
        publisher.sendRTP(payloadType: 96, sequence: sequence, timestamp: UInt32(sequence) * 3000, ssrc: 1111, marker: true,
                          payload: MediaEngineLoopbackTests.vp8Payload(keyframe: keyframe, fill: UInt8(sequence & 0xFF)))
    }

    /// RFC 4588: the original sequence number, then the original payload, on the repair SSRC.
    static func rtx(_ publisher: LoopbackPeer, rtxSequence: UInt16, original: UInt16) {
        let payload = [UInt8(original >> 8), UInt8(original & 0xFF)]
            + MediaEngineLoopbackTests.vp8Payload(keyframe: false, fill: UInt8(original & 0xFF))
        publisher.sendRTP(payloadType: 97, sequence: rtxSequence, timestamp: UInt32(original) * 3000, ssrc: 1112, marker: true,
                          payload: payload)
    }

    static func forwarded(to viewer: LoopbackPeer) -> [UInt16] {
        var sequences: [UInt16] = []
        viewer.receiveMedia(forMs: 30) { packet in
            if case .rtp(let bytes) = packet, let header = bytes.withUnsafeBytes({ RTPHeader.parse($0) }), header.ssrc == 2222 {
                sequences.append(header.sequenceNumber)
            }
        }
        return sequences
    }

    @Test func rtxOfAPacketThatArrivedIsAProbeNotARecovery() throws {
        let embedded = try EmbeddedWorker()
        let (publisher, viewer) = try Self.rtxPair(embedded)
        for sequence in UInt16(100)..<120 { Self.media(publisher, sequence: sequence, keyframe: sequence == 100) }
        #expect(Self.forwarded(to: viewer).count == 20)
        // Firefox probes bandwidth by resending packets that arrived long ago, as RTX.
        for (i, original) in [UInt16(105), 110, 119, 119].enumerated() {
            Self.rtx(publisher, rtxSequence: 500 + UInt16(i), original: original)
        }
        #expect(Self.forwarded(to: viewer).isEmpty, "viewers get no duplicates")
        #expect(embedded.worker.local.packetsRecovered == 0)
        #expect(embedded.worker.local.dropped[DropReason.rtxUnrequested.rawValue] == 4)

        // A real loss: 120 never comes, 121 does; the RTX of 120 repairs it and is forwarded and counted.
        Self.media(publisher, sequence: 121)
        #expect(Self.forwarded(to: viewer).count == 1)
        Self.rtx(publisher, rtxSequence: 504, original: 120)
        #expect(Self.forwarded(to: viewer).count == 1, "the repaired packet goes to the viewer")
        #expect(embedded.worker.local.packetsRecovered == 1)
        // Its duplicate (the publisher answered two NACKs) repairs nothing more.
        Self.rtx(publisher, rtxSequence: 505, original: 120)
        #expect(Self.forwarded(to: viewer).isEmpty)
        #expect(embedded.worker.local.packetsRecovered == 1)
    }

    @Test func anICERestartTakesTheNewCredentialsAndKeepsTheCall() throws {
        let embedded = try EmbeddedWorker()
        let (publisher, viewer) = try Self.rtxPair(embedded)
        let old = try #require(viewer.remote)
        try embedded.worker.restartICE(old.id, remoteUfrag: "viewr2", localUfrag: "new1u", localPassword: "new-password-0123456789ab")

        // A check with the old credentials is refused now.
        let unknownBefore = embedded.worker.local.dropped[DropReason.stunUnknownUser.rawValue]
        viewer.sendBindingRequest()
        #expect(Self.forwarded(to: viewer).isEmpty)
        #expect(embedded.worker.local.dropped[DropReason.stunUnknownUser.rawValue] == unknownBefore + 1)

        // Media goes on to the selected address meanwhile, DTLS and SRTP unchanged.
        Self.media(publisher, sequence: 1, keyframe: true)
        #expect(Self.forwarded(to: viewer).count == 1)

        // With the new credentials the check is answered.
        viewer.remote = TransportDescription(id: old.id, localUfrag: "new1u", localPassword: "new-password-0123456789ab",
                                             fingerprint: old.fingerprint, candidateIP: old.candidateIP, candidatePort: old.candidatePort)
        viewer.sendBindingRequest()
        var answered = false
        while let datagram = viewer.receive() {
            if let message = datagram.withUnsafeBytes({ STUNMessage.parse($0) }), message.messageClass == .successResponse {
                answered = true
            }
        }
        #expect(answered)
        Self.media(publisher, sequence: 2)
        #expect(Self.forwarded(to: viewer).count == 1)
        #expect(embedded.events.allSatisfy { if case .transportClosed = $0 { false } else { true } })
    }
}

import Testing
@testable import MediaCore

/// How one viewer's estimate is shared among its consumers and turned into target layers.
struct LayerAllocatorTests {
    final class Room {
        let context: DTLSContext
        let publishers: [WebRTCTransport]
        let viewer: WebRTCTransport
        var producers: [Producer] = []
        var consumers: [Consumer] = []

        init() throws {
            let context = try DTLSContext(certificate: try DTLSCertificate(), profiles: [.aes128CMHMACSHA1_80])
            self.context = context
            func transport(_ index: Int) throws -> WebRTCTransport {
                WebRTCTransport(id: TransportID(UInt64(index)), parameters: TransportParameters(
                    room: "r", label: "t\(index)", remoteUfrag: "u\(index)", remotePassword: "remote-password-\(index)", remoteFingerprints: []),
                    localUfrag: "l\(index)", localPassword: "local-password-\(index)",
                    dtls: try DTLSEndpoint(context: context, role: .server, remoteFingerprints: []), now: 0)
            }
            publishers = [try transport(1), try transport(3)]
            viewer = try transport(2)
        }

        /// Every layer of every camera is still arriving at `nowMs`.
        func keepArriving(nowMs: Int64) {
            for producer in producers { for layer in producer.layers { layer.noteOctets(1, temporalLayer: 0, nowMs: nowMs) } }
        }

        /// A q/h/f camera whose layers arrive at `rates` kbit/s (three temporal layers, T0 half, T1 a quarter, T2 a quarter).
        @discardableResult
        func camera(rates: [Int], source: MediaSource = .camera, publisher: Int = 0, nowMs: Int64) -> Consumer {
            let producer = Producer(id: ProducerID(UInt64(producers.count + 1)), transport: publishers[publisher], home: 0, parameters: ProducerParameters(
                kind: .video, mid: "\(producers.count)", ssrcs: [], payloadType: 96, clockRate: 90_000, extensions: HeaderExtensionIDs(),
                encodings: [ProducerEncoding(rid: "q"), ProducerEncoding(rid: "h"), ProducerEncoding(rid: "f")]))
            for (layer, kbps) in zip(producer.layers, rates) {
                // One second of traffic, then the rate window closes.
                layer.updateRates(nowMs: nowMs - 1_000)
                let bytes = kbps * 1000 / 8
                layer.noteOctets(bytes / 2, temporalLayer: 0, nowMs: nowMs)
                layer.noteOctets(bytes / 4, temporalLayer: 1, nowMs: nowMs)
                layer.noteOctets(bytes / 4, temporalLayer: 2, nowMs: nowMs)
                layer.updateRates(nowMs: nowMs)
            }
            let consumer = Consumer(id: ConsumerID(UInt64(consumers.count + 1)), transport: viewer, producer: producer,
                                    parameters: ConsumerParameters(producer: producer.id, mid: "v\(consumers.count)", ssrc: UInt32(100 + consumers.count),
                                                                   payloadType: 96, extensions: HeaderExtensionIDs(), source: source))
            consumer.targetSpatial = 2
            producers.append(producer)
            consumers.append(consumer)
            return consumer
        }
    }

    @Test func aThinLinkGetsTheLowLayerAtFullFrameRateRatherThanASharperJerkyOne() throws {
        let room = try Room()
        let consumer = room.camera(rates: [150, 500, 1500], nowMs: 10_000)
        LayerAllocator.allocate(room.consumers, budget: 300_000, speaker: nil, nowMs: 10_000)
        #expect(consumer.targetSpatial == 0)
        #expect(consumer.targetTemporal == 2)
        // Below even that: the low layer at a lower frame rate.
        LayerAllocator.allocate(room.consumers, budget: 90_000, speaker: nil, nowMs: 10_100)
        #expect(consumer.targetSpatial == 0)
        #expect(consumer.targetTemporal == 0)
    }

    @Test func upgradesWaitUntilTheEstimateHasHeldDowngradesDoNot() throws {
        let room = try Room()
        let consumer = room.camera(rates: [150, 500, 1500], nowMs: 10_000)
        LayerAllocator.allocate(room.consumers, budget: 300_000, speaker: nil, nowMs: 10_000)
        #expect(consumer.targetSpatial == 0)
        // The link opens: the top layer fits, but only after the estimate has held for a while.
        let wanted = LayerAllocator.allocate(room.consumers, budget: 3_000_000, speaker: nil, nowMs: 10_200)
        #expect(consumer.targetSpatial == 0)
        #expect(wanted >= 1_500_000, "probing aims at what the top layer needs with headroom")
        room.keepArriving(nowMs: 11_000)
        LayerAllocator.allocate(room.consumers, budget: 3_000_000, speaker: nil, nowMs: 11_000)
        #expect(consumer.targetSpatial == 0)
        room.keepArriving(nowMs: 11_800)
        LayerAllocator.allocate(room.consumers, budget: 3_000_000, speaker: nil, nowMs: 11_800)
        #expect(consumer.targetSpatial == 2)
        // Congestion: down at once.
        LayerAllocator.allocate(room.consumers, budget: 700_000, speaker: nil, nowMs: 11_900)
        #expect(consumer.targetSpatial == 1)
    }

    @Test func aPublisherThatStopsItsTopLayerDoesNotFreezeItsViewers() throws {
        let room = try Room()
        let consumer = room.camera(rates: [150, 500, 1500], nowMs: 10_000)
        LayerAllocator.allocate(room.consumers, budget: Int.max, speaker: nil, nowMs: 10_000)
        #expect(consumer.targetSpatial == 2)
        // Layers 0 and 1 keep arriving; layer 2 falls silent.
        for layer in room.producers[0].layers.prefix(2) { layer.noteOctets(100, temporalLayer: 0, nowMs: 11_500) }
        LayerAllocator.allocate(room.consumers, budget: Int.max, speaker: nil, nowMs: 11_500)
        #expect(consumer.targetSpatial == 1)
    }

    @Test func theTileSizeCapsTheLayer() throws {
        let room = try Room()
        let consumer = room.camera(rates: [150, 500, 1500], nowMs: 10_000)
        consumer.preferredSpatial = 0
        LayerAllocator.allocate(room.consumers, budget: 10_000_000, speaker: nil, nowMs: 10_000)
        #expect(consumer.targetSpatial == 0)
    }

    @Test func screenShareAndTheActiveSpeakerAreServedFirst() throws {
        let room = try Room()
        let other = room.camera(rates: [150, 500, 1500], nowMs: 10_000)
        let screen = room.camera(rates: [150, 500, 1500], source: .screen, nowMs: 10_000)
        // 1.9 Mbit/s: room for one top layer beside two low ones, and it goes to the screen share.
        LayerAllocator.allocate(room.consumers, budget: 1_900_000, speaker: nil, nowMs: 10_000)
        #expect(screen.targetSpatial == 2)
        #expect(other.targetSpatial < 2)
        // Among cameras, the active speaker's comes first.
        let room2 = try Room()
        let quiet = room2.camera(rates: [150, 500, 1500], publisher: 0, nowMs: 10_000)
        let speaking = room2.camera(rates: [150, 500, 1500], publisher: 1, nowMs: 10_000)
        LayerAllocator.allocate(room2.consumers, budget: 1_900_000, speaker: room2.publishers[1], nowMs: 10_000)
        #expect(speaking.targetSpatial == 2)
        #expect(quiet.targetSpatial < 2)
    }
}

import Testing
@testable import MediaCore

/// A configuration that would trap later (arithmetic on a huge timeout, a port past 65535) is refused at once
/// with a message that says why.
@Suite struct MediaEngineConfigurationTests {
    static func refused(_ change: (inout MediaEngineConfiguration) -> Void) -> String? {
        var configuration = MediaEngineConfiguration()
        configuration.basePort = 0
        configuration.logHandler = { _ in }
        change(&configuration)
        do {
            _ = try MediaEngine(configuration: configuration)
            return nil
        } catch let error as MediaError {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    @Test func timeoutsPortsAndLimitsThatWouldOverflowAreRefused() {
        #expect(Self.refused { $0.consentTimeout = .infinity }?.contains("consent timeout") == true)
        #expect(Self.refused { $0.consentTimeout = 1e300 }?.contains("consent timeout") == true)
        #expect(Self.refused { $0.consentTimeout = .nan }?.contains("consent timeout") == true)
        #expect(Self.refused { $0.basePort = 65_535; $0.workers = 2 }?.contains("65535") == true)
        #expect(Self.refused { $0.retransmissionMemoryPerWorker = -1 }?.contains("retransmission") == true)
        #expect(Self.refused { $0.workers = 0 }?.contains("workers") == true)
    }

    @Test func idsThisEngineDidNotMakeAreIgnoredOrRefusedNotTrapped() async throws {
        var configuration = MediaEngineConfiguration()
        configuration.basePort = 0
        configuration.logHandler = { _ in }
        let engine = try MediaEngine(configuration: configuration)
        try engine.start()
        let stranger: UInt64 = 0xFFFF_FF37  // worker 0x37 of an engine with one worker
        await engine.closeTransport(TransportID(stranger))
        await engine.closeProducer(ProducerID(stranger))
        await engine.closeConsumer(ConsumerID(stranger))
        engine.setPreferredLayers(consumer: ConsumerID(stranger), spatial: 0, temporal: 0)
        await #expect(throws: MediaError.self) {
            try await engine.addProducer(transport: TransportID(stranger), ProducerParameters(
                kind: .audio, mid: "0", ssrcs: [1], payloadType: 111, clockRate: 48000, extensions: HeaderExtensionIDs()))
        }
        await engine.shutdown()
    }
}

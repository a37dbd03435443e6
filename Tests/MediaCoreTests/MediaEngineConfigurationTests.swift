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

    /// A started engine on a free loopback port that logs nothing.
    static func startedEngine() throws -> MediaEngine {
        var configuration = MediaEngineConfiguration()
        configuration.basePort = 0
        configuration.logHandler = { _ in }
        let engine = try MediaEngine(configuration: configuration)
        try engine.start()
        return engine
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
        let engine = try Self.startedEngine()
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

    /// A close that comes after the engine stopped (a relay or a meeting's media closed while the server shuts down)
    /// returns at once; before, it waited forever for a worker that had stopped, and the process never exited.
    @Test func closingAfterTheEngineStoppedReturnsInsteadOfWaitingForever() async throws {
        let engine = try Self.startedEngine()
        let transport = try await engine.createTransport(TransportParameters(
            room: "r", label: "late close", remoteUfrag: "abcd", remotePassword: "0123456789abcdefghijkl", remoteFingerprints: []))
        await engine.shutdown()
        try await Task.sleep(for: .milliseconds(200))   // the worker has left its loop
        // Detached: were it to hang again, the test fails after 20 s instead of waiting with it.
        let returned = Returned()
        Task.detached {
            await engine.closeTransport(transport.id)
            await engine.closeProducer(ProducerID(transport.id.rawValue + 1))
            await engine.closeConsumer(ConsumerID(transport.id.rawValue + 2))
            await returned.set()
        }
        var closed = false
        for _ in 0..<200 where !closed {
            try await Task.sleep(for: .milliseconds(100))
            closed = await returned.value
        }
        #expect(closed, "closing after shutdown did not return within 20 s")
    }

    actor Returned {
        var value = false
        func set() { value = true }
    }
}

/// Every MediaCore fuzz target: the parsers and stateful helpers that bytes from the network reach.
/// `SABHA_FUZZ=<rawValue>` picks one in the fuzzer (tools/fuzz.sh); the regression tests replay the
/// inputs under `Tests/MediaCoreTests/Regressions/<rawValue>/` through the same `run`.
enum MediaFuzzTarget: String, CaseIterable, Sendable {
    case rtp, rtcp, twcc, stun, dtls, srtp, rewriter, replay, nack, rtxbuffer, bwe, icetcp

    func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        switch self {
        case .rtp: try RTPFuzz.run(data)
        case .rtcp: try RTCPFuzz.run(data)
        case .twcc: try TransportWideFeedbackFuzz.run(data)
        case .stun: try STUNFuzz.run(data)
        case .dtls: DTLSFuzz.run(data)
        case .srtp: try SRTPFuzz.run(data)
        case .rewriter: try SequenceRewriterFuzz.run(data)
        case .replay: try ReplayWindowFuzz.run(data)
        case .nack: try NackGeneratorFuzz.run(data)
        case .rtxbuffer: try RetransmissionBufferFuzz.run(data)
        case .bwe: try BandwidthEstimatorFuzz.run(data)
        case .icetcp: try ICETCPFramingFuzz.run(data)
        }
    }
}

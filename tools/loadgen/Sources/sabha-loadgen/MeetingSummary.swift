import Foundation

/// The JSON document printed at the end of `--mode meeting` / `--mode churn`.
struct MeetingSummary: Encodable {
    struct Config: Encodable {
        var mode: String
        var server: String
        var room: String
        var participants: Int
        var flowsPerWindow: Int
        /// `--viewers`, and their flows (each viewer receives every participant's audio and video).
        var viewers: Int
        var viewerFlowsPerWindow: Int
        var cycles: Int
        var churnConcurrency: Int
        var seed: Int
        var tile: String
        var simulcastLayers: [String]
        var fps: Int
        var audioKbps: Int
        var threads: Int
        var decryptEvery: Int
        var srtpProfiles: [String]
    }

    struct Setup: Encodable {
        var joinSeconds: Double
        var settleSeconds: Double
        var settled: Bool
        var participantErrors: [String]
    }

    /// One check of every directed flow over a window. The flow, packet, loss and latency figures are the
    /// participants' (who publish and receive each other); the viewers' are in `viewers`.
    struct FlowWindow: Encodable {
        var label: String
        var settledBefore: Bool
        var seconds: Double
        var flowsExpected: Int
        var flowsArrived: Int
        var flowsMissing: Int
        var audioFlowsMissing: Int
        var videoFlowsMissing: Int
        /// Missing flows whose stream no answer announced (a signalling problem, not a forwarding one).
        var flowsNotSignalled: Int
        /// "publisher -> receiver kind (why)", at most 300.
        var missing: [String]
        var packetsReceivedPerSecond: Double
        var mbitReceivedPerSecond: Double
        var expected: Int64
        var lost: Int64
        var lossPercent: Double
        var latency: Summary.Latency
        var videoFramesPerSecondPerFlow: Summary.Distribution
        var authFailures: UInt64
        var generatorSRTPRefused: UInt64
        var unknownSSRCPackets: UInt64
        var serverCPUSeconds: Double?
        var serverCPUPercentOfOneCore: Double?
        /// With --second-server-pid: that server's CPU over the window.
        var secondServerCPUSeconds: Double?
        var secondServerCPUPercentOfOneCore: Double?
        var generatorCPUSeconds: Double
        var serverPacketsForwardedPerCPUSecond: Double?
        /// `sabha_dropped_packets_total` growth over the window, by reason (the second server's with --second-server).
        var serverDrops: [String: Double]
        var secondServerDrops: [String: Double]?
        /// Datagrams the kernel dropped over the window for a full receive buffer (/proc/net/udp `drops`): at the
        /// servers' media sockets (the ports the answers named; before a server sees them), and at the other sockets
        /// (the generator's).
        var kernelDropsAtServerSocket: Int
        var kernelDropsAtGeneratorSockets: Int
        /// Datagrams the generator's publishers could not send (`sendmmsg` refused: socket send buffer full).
        var generatorSendErrors: UInt64
        var serverTransports: Int?
        var serverProducers: Int?
        var serverConsumers: Int?
        var serverPoolBuffersInUse: Int?
        /// With --viewers.
        var viewers: ViewerFlows?
    }

    /// What the viewers received from the participants over a flow window (`--viewers`).
    struct ViewerFlows: Encodable {
        var viewers: Int
        /// Viewers whose media was connected at the window's end, and those that got no packet in it.
        var connected: Int
        var silent: Int
        /// The server media port each viewer's answer named (which node serves its media) → viewers.
        var mediaPorts: [String: Int]
        var flowsExpected: Int
        var flowsArrived: Int
        var flowsMissing: Int
        var audioFlowsMissing: Int
        var videoFlowsMissing: Int
        var flowsNotSignalled: Int
        /// Video flows that delivered packets but no keyframe (a viewer could not have started decoding them).
        var videoFlowsWithoutKeyframe: Int
        var missing: [String]
        var packetsReceivedPerSecond: Double
        var mbitReceivedPerSecond: Double
        var expected: Int64
        var lost: Int64
        var lossPercent: Double
        var latency: Summary.Latency
        var videoFramesPerSecondPerFlow: Summary.Distribution
        var authFailures: UInt64
        var unknownSSRCPackets: UInt64

        init(_ tally: MeetingFlowTally, elapsed: Double) {
            viewers = tally.receivers
            connected = tally.connected
            silent = tally.silent
            mediaPorts = Dictionary(uniqueKeysWithValues: tally.mediaPorts.map { ("\($0.key)", $0.value) })
            flowsExpected = tally.expectedFlows
            flowsArrived = tally.expectedFlows - tally.missingCount
            flowsMissing = tally.missingCount
            audioFlowsMissing = tally.audioMissing
            videoFlowsMissing = tally.videoMissing
            flowsNotSignalled = tally.notSignalled
            videoFlowsWithoutKeyframe = tally.videoWithoutKeyframe
            missing = tally.missing
            packetsReceivedPerSecond = Summary.Distribution.round(Double(tally.packets) / elapsed)
            mbitReceivedPerSecond = Summary.Distribution.round(Double(tally.bytes) * 8 / elapsed / 1e6)
            expected = tally.expected
            lost = tally.lost
            lossPercent = Summary.Distribution.round(tally.lossPercent)
            latency = Summary.Latency(tally.latency)
            videoFramesPerSecondPerFlow = Summary.Distribution(tally.videoFrameRates)
            authFailures = tally.authFailures
            unknownSSRCPackets = tally.unknown
        }
    }

    struct Churn: Encodable {
        var cycles: Int
        var begun: Int
        var completed: Int
        var failed: Int
        var byKind: [String: Int]
        var seconds: Double
        var cyclesPerSecond: Double
        /// From leaving to media connected again.
        var cycleMs: Summary.Distribution
        var failures: [String]
    }

    struct Idle: Encodable {
        var reached: Bool
        var seconds: Double
        var transports: Int?
        var producers: Int?
        var consumers: Int?
        var participants: Int?
        var poolBuffersInUse: Int?
        var poolBuffersBaseline: Int
    }

    /// The server's VmRSS (KiB) at points of the run.
    struct Memory: Encodable {
        var beforeJoin: Int?
        var meeting: Int?
        var churnFirst: Int?
        var churnLast: Int?
        var churnMax: Int?
        var afterTeardown: Int?
    }

    var config: Config
    var setup: Setup
    var meeting: FlowWindow
    var churn: Churn?
    var afterChurn: FlowWindow?
    var idle: Idle
    var rssKiB: Memory
    var serverDropsOverRun: [String: Double]
    var runSeconds: Double
    var passed: Bool
    var problems: [String]

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

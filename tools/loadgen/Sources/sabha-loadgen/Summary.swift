import Foundation

/// The JSON document printed on standard output at the end of a run.
struct Summary: Encodable {
    struct Distribution: Encodable {
        var min: Double?
        var p50: Double?
        var p99: Double?
        var max: Double?
        var count: Int

        init(_ values: [Double]) {
            let sorted = values.sorted()
            count = sorted.count
            guard !sorted.isEmpty else { return }
            func at(_ fraction: Double) -> Double {
                sorted[Swift.min(sorted.count - 1, Swift.max(0, Int((Double(sorted.count) * fraction).rounded(.up)) - 1))]
            }
            min = Self.round(sorted[0])
            p50 = Self.round(at(0.5))
            p99 = Self.round(at(0.99))
            max = Self.round(sorted[sorted.count - 1])
        }

        static func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    }

    struct Latency: Encodable {
        var samples: UInt64
        var p50Ms: Double?
        var p95Ms: Double?
        var p99Ms: Double?
        var maxMs: Double?

        init(_ histogram: LatencyHistogram) {
            samples = histogram.total
            p50Ms = histogram.percentile(0.5).map { Distribution.round(Double($0) / 1e6) }
            p95Ms = histogram.percentile(0.95).map { Distribution.round(Double($0) / 1e6) }
            p99Ms = histogram.percentile(0.99).map { Distribution.round(Double($0) / 1e6) }
            maxMs = histogram.total > 0 ? Distribution.round(Double(histogram.maxValue) / 1e6) : nil
        }
    }

    struct Config: Encodable {
        var server: String
        var room: String
        var publishers: Int
        var subscribers: Int
        var durationSeconds: Double
        var threads: Int
        var srtpProfiles: [String]
        var decryptEvery: Int
        var video: VideoConfig?
        var audio: AudioConfig?
        var subscriberServer: String?
        var whepQuery: String?
        var subscriberGroups: [String]?
    }

    struct VideoConfig: Encodable {
        var width: Int
        var height: Int
        var fps: Int
        var targetKbps: Int
        var clipFrames: Int
        var clipKbps: Double
        var keyframeBytes: Int
        /// Video pacing rate as a multiple of the clip's bitrate (0: each frame as one burst).
        var pacingFactor: Double
        /// With --simulcast: each layer's size and clip bitrate, lowest first (the rest above is the top layer).
        var simulcastLayers: [String]
    }

    struct AudioConfig: Encodable {
        var targetKbps: Int
        var clipKbps: Double
    }

    struct Setup: Encodable {
        var publishersConnected: Int
        var subscribersConnected: Int
        var subscribersWithKeyframe: Int
        var failures: [String]
        var connectMs: Distribution
        var signallingSeconds: Double
        /// From the end of signalling until every subscriber was connected with a keyframe (the window opens then).
        var settleSeconds: Double
    }

    struct Totals: Encodable {
        var packetsSent: UInt64
        var bytesSent: UInt64
        var packetsReceived: UInt64
        var bytesReceived: UInt64
        /// Packets the subscribers should have received in the window's whole slots (from the publishers' send
        /// stamps), how many of those did not arrive authenticated, and the share.
        var expected: Int64
        var lost: Int64
        var lossPercent: Double
        var lossWindowSeconds: Double
        /// Subscribers that received nothing in the window (each counts 100 % loss), and requested subscribers
        /// that never got signalled (counted the same way).
        var subscribersSilent: Int
        var subscribersNotSignalled: Int
        /// Subscribers that got packets of more than one simulcast layer in the window.
        var subscribersOnSeveralLayers: Int
        var authenticated: UInt64
        var authFailures: UInt64
        var rtcpAuthFailures: UInt64
        var pliReceivedByPublishers: UInt64
        var keyframeRequestsThrottled: UInt64
        var keyframesSent: UInt64
        var skippedFrames: UInt64
        var sendErrors: UInt64
        var latency: Latency
    }

    struct Window: Encodable {
        var seconds: Double
        var packetsReceivedPerSecond: Double
        var mbitReceivedPerSecond: Double
        var packetsSentPerSecond: Double
        var generatorCPUSeconds: Double
        var serverCPUSeconds: Double?
        var serverPacketsPerCPUSecond: Double?
        /// With --second-server-pid: that server's CPU over the window, and packets received by the subscribers
        /// per CPU-second of it.
        var secondServerCPUSeconds: Double?
        var secondServerPacketsPerCPUSecond: Double?
        /// With --extra-server-pid: each one's CPU seconds over the window, in the order given (null: unreadable).
        var extraServerCPUSeconds: [Double?]?
    }

    /// One --subscriber-group over the window: loss as in `totals` (expected from the publisher's stamps, silent
    /// and never-signalled subscribers count 100 %), authenticated packets per second in the window's whole slots,
    /// its subscribers' merged latency.
    struct Group: Encodable {
        var server: String
        var whepQuery: String?
        var subscribers: Int
        var signalled: Int
        var connected: Int
        var withKeyframe: Int
        var silent: Int
        var notSignalled: Int
        var expected: Int64
        var lost: Int64
        var lossPercent: Double
        var packetsReceivedPerSecond: Double
        var authFailures: UInt64
        var latency: Latency
        var keyframeWaitMs: Distribution
        var connectMs: Distribution
        /// Its subscribers' signalling failures (the first 5).
        var failures: [String]
    }

    struct SubscriberDistributions: Encodable {
        var packets: Distribution
        var lossPercent: Distribution
        var latencyP50Ms: Distribution
        var latencyP99Ms: Distribution
        var latencyMaxMs: Distribution
        var keyframeWaitMs: Distribution
    }

    struct SubscriberEntry: Encodable {
        var index: Int
        var publisher: Int
        var connected: Bool
        var failure: String?
        var packets: UInt64
        var bytes: UInt64
        var videoPackets: UInt64
        var audioPackets: UInt64
        /// In the window: packets expected (from the publisher's stamps), received authenticated, lost.
        var expected: Int64
        var received: Int64
        var lost: Int64
        var lossPercent: Double
        /// Of those, audio (the rest is video).
        var audioExpected: Int64
        var audioReceived: Int64
        /// The video layer it received (most of), lowest 0.
        var layer: Int?
        /// Sequence-number gaps over the whole run (what the receiver reports carry).
        var sequenceGaps: Int64
        var authenticated: UInt64
        var authFailures: UInt64
        var latency: Latency
        var keyframeWaitMs: Double?
        var connectMs: Double?
        var plisSent: UInt64
        var senderReports: UInt64
    }

    var config: Config
    var setup: Setup
    var totals: Totals
    var window: Window
    var subscribers: SubscriberDistributions
    /// With --subscriber-group: each group, in the order given.
    var groups: [Group]?
    var perSubscriber: [SubscriberEntry]?

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

import Foundation

/// `composition.json` in a recording's folder: where the composition of its tracks into one file stands (pending,
/// running with its progress, done, failed and why) and, once done, what it made and what the picture showed when.
/// The composer writes it; the library, the admin API and `sabha recording` read it.
public struct CompositionReport: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case pending, running, done, failed
    }

    /// A track's picture on the canvas: whose, and the rectangle it was drawn into (aspect kept, centred).
    public struct Tile: Codable, Sendable, Equatable {
        public var participant: String
        public var identity: String
        public var name: String
        public var track: String
        public var source: String
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int

        public init(participant: String, identity: String, name: String, track: String, source: String, x: Int, y: Int, width: Int, height: Int) {
            (self.participant, self.identity, self.name, self.track, self.source) = (participant, identity, name, track, source)
            (self.x, self.y, self.width, self.height) = (x, y, width, height)
        }
    }

    /// An interval of the composed file (ms, `to` exclusive) in which the picture kept one arrangement.
    public struct Segment: Codable, Sendable, Equatable {
        public var from: Int64
        public var to: Int64
        /// "speaker" or "screen".
        public var layout: String
        public var tiles: [Tile]

        public init(from: Int64, to: Int64, layout: String, tiles: [Tile]) {
            (self.from, self.to, self.layout, self.tiles) = (from, to, layout, tiles)
        }
    }

    public var state: State
    /// 0...1, as far as the composition has got.
    public var progress: Double
    public var error: String?
    public var width: Int?
    public var height: Int?
    public var fps: Int?
    public var duration: Int64?
    /// How long the composition took (ms).
    public var elapsedMs: Int64?
    public var layouts: [Segment]?
    /// Tracks that could not be read whole, and why (the rest of the meeting is composed).
    public var warnings: [String]?

    public init(state: State, progress: Double = 0, error: String? = nil) {
        self.state = state
        self.progress = progress
        self.error = error
    }

    public static let fileName = "composition.json"
    /// The composed picture and sound, and the sound alone.
    public static let composedFile = "composed.webm"
    public static let audioFile = "audio.opus"

    /// The report in `folder`; nil when there is none (recorded before composition existed, or never queued).
    public static func read(folder: String) -> CompositionReport? {
        JSONFile.read(CompositionReport.self, folder: folder, name: fileName)
    }

    /// Writes the report into `folder`, replacing the old one whole.
    public func write(folder: String) throws {
        try JSONFile.write(self, folder: folder, name: Self.fileName)
    }
}

import Recording

/// Decides, frame by frame, what the composed picture shows. Without a screen share: the main speaker large across
/// the top three quarters, everyone else with video in a strip below (in the order their video first appeared), or
/// the main speaker alone on the whole canvas. While a screen is shared: the screen in the left three quarters, the
/// main speaker at the top of a column on the right and two others below. The main speaker is whoever the meeting's
/// active-speaker detector last named, as long as they show video; otherwise the one before stays, and at the start
/// it is the first camera to appear.
struct LayoutPlanner {
    enum Kind: String { case speaker, screen }

    struct Tile: Equatable {
        /// Index into the sources the planner was given.
        var source: Int
        var region: Rect
    }

    let width: Int
    let height: Int
    /// `speaker` events, in time order.
    private let speakers: [(at: Int64, participant: String?)]
    private var nextSpeaker = 0
    private var named: String?
    private(set) var main: String?

    init(width: Int, height: Int, timeline: [TimelineEvent]) {
        self.width = width
        self.height = height
        speakers = timeline.filter { $0.type == .speaker }.map { ($0.at, $0.participant) }.sorted { $0.at < $1.at }
    }

    /// The tiles at `time`, given every video source (their liveness and first pictures).
    mutating func layout(at time: Int64, sources: [VideoSource]) -> (kind: Kind, tiles: [Tile]) {
        while nextSpeaker < speakers.count && speakers[nextSpeaker].at <= time {
            named = speakers[nextSpeaker].participant
            nextSpeaker += 1
        }
        let live = sources.indices.filter { sources[$0].isLive(at: time) }.sorted { left, right in
            let (a, b) = (sources[left], sources[right])
            return (a.firstShown ?? 0, a.track.track) < (b.firstShown ?? 0, b.track.track)
        }
        let cameras = live.filter { sources[$0].track.source != "screen" }
        let screen = live.filter { sources[$0].track.source == "screen" }.last
        let hasCamera = { (participant: String?) in cameras.contains { sources[$0].track.participant == participant } }
        if let named, hasCamera(named) {
            main = named
        } else if !hasCamera(main) {
            main = cameras.first.map { sources[$0].track.participant }
        }
        let mainIndex = cameras.first { sources[$0].track.participant == main }
        let others = cameras.filter { $0 != mainIndex }
        if let screen {
            let left = width * 3 / 4, row = height / 3
            var tiles = [Tile(source: screen, region: Rect(x: 0, y: 0, width: left, height: height))]
            for (slot, index) in ((mainIndex.map { [$0] } ?? []) + others).prefix(3).enumerated() {
                tiles.append(Tile(source: index, region: Rect(x: left, y: slot * row, width: width - left, height: row)))
            }
            return (.screen, tiles)
        }
        guard let mainIndex else { return (.speaker, []) }
        if others.isEmpty { return (.speaker, [Tile(source: mainIndex, region: Rect(x: 0, y: 0, width: width, height: height))]) }
        let top = height * 3 / 4, tileWidth = width * 3 / 16
        var tiles = [Tile(source: mainIndex, region: Rect(x: 0, y: 0, width: width, height: top))]
        for (slot, index) in others.prefix(width / tileWidth).enumerated() {
            tiles.append(Tile(source: index, region: Rect(x: slot * tileWidth, y: top, width: tileWidth, height: height - top)))
        }
        return (.speaker, tiles)
    }
}

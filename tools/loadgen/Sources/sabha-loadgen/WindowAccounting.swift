/// Loss over the measurement window, counted per subscriber from send stamps: what its publisher sent of the
/// streams it watches, stamped in the window's whole slots, against what it received and authenticated of them
/// (`SlotCounter`). A subscriber that received nothing counts 100 %; one that was never signalled counts as if
/// it watched the top layer and received nothing.
struct WindowAccounting {
    struct Entry {
        var expected: UInt64
        var received: UInt64
        /// The video layer received most (its sent count is what was expected), nil without video.
        var layer: Int?
        /// Video layers with any packet in the window (more than one: the server switched layers).
        var layersReceived: Int
        /// Audio packets expected and received (the rest of the figures above is video).
        var audioExpected: UInt64 = 0
        var audioReceived: UInt64 = 0

        var lost: UInt64 { expected > received ? expected - received : 0 }
        var lossPercent: Double { expected > 0 ? 100 * Double(lost) / Double(expected) : 0 }
    }

    let slots: SlotWindow
    let layers: Int

    func entry(for subscriber: Subscriber, publisher: Publisher?) -> Entry {
        let perLayer = (0..<layers).map { subscriber.received.count(stream: $0, window: slots) }
        let audio = subscriber.received.count(stream: SendStamp.audioStream, window: slots)
        var expected: UInt64 = 0
        var layer: Int?
        if subscriber.expectsVideo && layers > 0 {
            let top = perLayer.max() ?? 0
            let chosen = top > 0 ? perLayer.firstIndex(of: top)! : layers - 1
            layer = chosen
            expected += publisher?.sent.count(stream: chosen, window: slots) ?? 0
        }
        var audioExpected: UInt64 = 0
        if subscriber.expectsAudio {
            audioExpected = publisher?.sent.count(stream: SendStamp.audioStream, window: slots) ?? 0
        }
        return Entry(expected: expected + audioExpected, received: perLayer.reduce(0, +) + audio, layer: layer,
                     layersReceived: perLayer.count { $0 > 0 }, audioExpected: audioExpected, audioReceived: audio)
    }

    /// What a subscriber of `publisher` that never got signalled should have received (top layer and audio).
    func unsignalled(publisher: Publisher) -> Entry {
        var expected = publisher.sent.count(stream: SendStamp.audioStream, window: slots)
        if layers > 0 { expected += publisher.sent.count(stream: layers - 1, window: slots) }
        return Entry(expected: expected, received: 0, layer: layers > 0 ? layers - 1 : nil, layersReceived: 0)
    }
}

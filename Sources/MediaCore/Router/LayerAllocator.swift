/// Shares one viewer's estimated bandwidth among its consumers (the "sensible" order: audio first,
/// then screen share, then the active speaker's camera, then the rest), and sets each video consumer's
/// target spatial and temporal layer: the best one that fits, at most what the viewer's tile needs, and
/// among the layers actually arriving.
enum LayerAllocator {
    /// A higher layer than the current target must fit in this share of what is left, so that a small
    /// wobble of the estimate does not switch layers back and forth.
    static let upgradeHeadroom = 0.85

    /// Returns the bitrate the viewer would want with unlimited bandwidth (for probing).
    @discardableResult
    static func allocate(_ consumers: [Consumer], budget: Int, speaker: WebRTCTransport?, nowMs: Int64) -> Int {
        var remaining = budget
        var wanted = 0
        // Audio first: it is small and matters most.
        for consumer in consumers where !consumer.isVideo {
            let rate = consumer.producer.layers[0].bitrate(upToTemporal: 3)
            remaining = remaining == Int.max ? remaining : remaining - rate
            wanted += rate
        }
        // Every video consumer gets its lowest arriving layer at the lowest temporal layer first, then the
        // rest is given out in priority order.
        for rank in (0...2).reversed() {
            for consumer in consumers where consumer.isVideo && priority(consumer, speaker: speaker) == rank {
                guard let lowest = consumer.producer.bestActiveLayer(atMost: 0, nowMs: nowMs) else { continue }
                let cost = consumer.producer.layers[lowest].bitrate(upToTemporal: 0)
                if remaining != Int.max { remaining -= cost }
            }
        }
        for rank in (0...2).reversed() {
            for consumer in consumers where consumer.isVideo && priority(consumer, speaker: speaker) == rank {
                let producer = consumer.producer
                guard let lowest = producer.bestActiveLayer(atMost: 0, nowMs: nowMs) else { continue }
                let base = producer.layers[lowest].bitrate(upToTemporal: 0)
                let spatialCap = min(consumer.preferredSpatial, producer.layers.count - 1)
                let temporalCap = min(consumer.preferredTemporal, 3)
                let best = producer.bestActiveLayer(atMost: spatialCap, nowMs: nowMs) ?? lowest
                wanted += producer.layers[best].bitrate(upToTemporal: temporalCap)
                var chosen = (spatial: lowest, temporal: 0)
                if remaining == Int.max {
                    chosen = (best, temporalCap)
                } else {
                    search: for spatial in stride(from: best, through: lowest, by: -1) {
                        let layer = producer.layers[spatial]
                        guard layer.isActive(nowMs: nowMs) else { continue }
                        for temporal in stride(from: temporalCap, through: 0, by: -1) {
                            let extra = layer.bitrate(upToTemporal: temporal) - base
                            let isUpgrade = spatial > consumer.targetSpatial
                                || (spatial == consumer.targetSpatial && temporal > consumer.targetTemporal)
                            let allowed = isUpgrade ? Int(Double(max(0, remaining)) * upgradeHeadroom) : remaining
                            if extra <= allowed {
                                chosen = (spatial, temporal)
                                break search
                            }
                        }
                    }
                    remaining -= producer.layers[chosen.spatial].bitrate(upToTemporal: chosen.temporal) - base
                }
                consumer.targetSpatial = chosen.spatial
                consumer.targetTemporal = chosen.temporal
            }
        }
        return wanted
    }

    /// 2 = screen share, 1 = the active speaker's camera, 0 = the rest.
    private static func priority(_ consumer: Consumer, speaker: WebRTCTransport?) -> Int {
        if consumer.parameters.source == .screen { return 2 }
        if let speaker, consumer.producer.transport === speaker { return 1 }
        return 0
    }
}

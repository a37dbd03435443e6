/// Shares one viewer's estimated bandwidth among its consumers (the "sensible" order: audio first,
/// then screen share, then the active speaker's camera, then the rest), and sets each video consumer's
/// target spatial and temporal layer: the best one that fits, at most what the viewer's tile needs, and
/// among the layers actually arriving. Paused consumers cost nothing and keep their targets.
enum LayerAllocator {
    /// A higher layer than the current target must fit in this share of what is left, so that a small
    /// wobble of the estimate does not switch layers back and forth.
    static let upgradeHeadroom = 0.85
    /// An upgrade must stay affordable this long before it is made (the estimate wobbles; a switch costs a keyframe).
    static let upgradeDelayMs: Int64 = 1_500

    /// Returns the bitrate the viewer would want with unlimited bandwidth (for probing).
    @discardableResult
    static func allocate(_ consumers: [Consumer], budget: Int, speaker: WebRTCTransport?, nowMs: Int64) -> Int {
        var remaining = budget
        var wanted = 0
        // Audio first: it is small and matters most.
        for consumer in consumers where !consumer.isVideo && !consumer.paused {
            let rate = consumer.producer.layers[0].bitrate(upToTemporal: 3)
            remaining = remaining == Int.max ? remaining : remaining - rate
            wanted += rate
        }
        // Every video consumer gets its lowest arriving layer at the lowest temporal layer first, then the
        // rest is given out in priority order.
        for rank in (0...2).reversed() {
            for consumer in consumers where consumer.isVideo && !consumer.paused && priority(consumer, speaker: speaker) == rank {
                guard let lowest = consumer.producer.bestActiveLayer(atMost: 0, nowMs: nowMs) else { continue }
                let cost = consumer.producer.layers[lowest].bitrate(upToTemporal: 0)
                if remaining != Int.max { remaining -= cost }
            }
        }
        for rank in (0...2).reversed() {
            for consumer in consumers where consumer.isVideo && !consumer.paused && priority(consumer, speaker: speaker) == rank {
                let producer = consumer.producer
                guard let lowest = producer.bestActiveLayer(atMost: 0, nowMs: nowMs) else { continue }
                let base = producer.layers[lowest].bitrate(upToTemporal: 0)
                let spatialCap = min(consumer.preferredSpatial, producer.layers.count - 1)
                let best = producer.bestActiveLayer(atMost: spatialCap, nowMs: nowMs) ?? lowest
                // No higher temporal layer than the publisher sends: asking for TID 3 of an L1T3 stream changes nothing.
                let temporalCap = min(consumer.preferredTemporal, Int(producer.layers[best].maxTemporalLayer))
                // Probing aims at what the upgrade needs with its headroom, so that a good probe makes it fit.
                wanted += base + Int(Double(max(0, producer.layers[best].bitrate(upToTemporal: temporalCap) - base)) / upgradeHeadroom)
                var chosen = (spatial: lowest, temporal: 0)
                if remaining == Int.max {
                    chosen = (best, temporalCap)
                } else {
                    // A sharper picture at a jerky frame rate serves a meeting worse than a smaller one that moves:
                    // higher spatial layers only with all their temporal layers; frame rate is cut on the lowest.
                    search: for spatial in stride(from: best, through: lowest, by: -1) {
                        let layer = producer.layers[spatial]
                        guard layer.isActive(nowMs: nowMs) else { continue }
                        for temporal in stride(from: temporalCap, through: spatial == lowest ? 0 : temporalCap, by: -1) {
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
                apply(chosen, to: consumer, immediately: remaining == Int.max, nowMs: nowMs)
            }
        }
        return wanted
    }

    /// Downgrades (and anything without an estimate) take effect now; an upgrade once it has been wanted for
    /// `upgradeDelayMs`.
    private static func apply(_ chosen: (spatial: Int, temporal: Int), to consumer: Consumer, immediately: Bool, nowMs: Int64) {
        let current = (spatial: consumer.targetSpatial, temporal: min(consumer.targetTemporal, 3))
        let isUpgrade = chosen.spatial > current.spatial || (chosen.spatial == current.spatial && chosen.temporal > current.temporal)
        guard isUpgrade && !immediately else {
            consumer.targetSpatial = chosen.spatial
            consumer.targetTemporal = chosen.temporal
            consumer.pendingUpgrade = nil
            return
        }
        if let pending = consumer.pendingUpgrade, pending.spatial >= current.spatial {
            if nowMs - consumer.pendingUpgradeSinceMs >= upgradeDelayMs {
                consumer.targetSpatial = chosen.spatial
                consumer.targetTemporal = chosen.temporal
                consumer.pendingUpgrade = nil
            } else {
                consumer.pendingUpgrade = chosen
            }
        } else {
            consumer.pendingUpgrade = chosen
            consumer.pendingUpgradeSinceMs = nowMs
        }
    }

    /// 2 = screen share, 1 = the active speaker's camera, 0 = the rest.
    private static func priority(_ consumer: Consumer, speaker: WebRTCTransport?) -> Int {
        if consumer.parameters.source == .screen { return 2 }
        if let speaker, consumer.producer.transport === speaker { return 1 }
        return 0
    }
}

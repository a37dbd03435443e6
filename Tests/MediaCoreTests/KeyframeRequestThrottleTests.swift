import Testing
@testable import MediaCore

struct KeyframeRequestThrottleTests {
    /// `#expect` cannot call a mutating method on its own.
    private func ask(_ throttle: inout KeyframeRequestThrottle, layer: Int, nowMs: Int64) -> Bool {
        throttle.shouldRequest(layer: layer, nowMs: nowMs)
    }

    @Test func manyViewersInOneIntervalMakeOneRequest() {
        var throttle = KeyframeRequestThrottle()
        var forwarded = 0
        for viewer in 0..<50 where throttle.shouldRequest(layer: 0, nowMs: 1_000 + Int64(viewer)) { forwarded += 1 }
        #expect(forwarded == 1)
        #expect(throttle.forwardedCount == 1)
        #expect(throttle.suppressedCount == 49)
    }

    @Test func layersAreThrottledIndependently() {
        var throttle = KeyframeRequestThrottle()
        #expect(ask(&throttle, layer: 0, nowMs: 0))
        #expect(ask(&throttle, layer: 1, nowMs: 0))
        #expect(ask(&throttle, layer: 3, nowMs: 1))
        #expect(!ask(&throttle, layer: 0, nowMs: 2))
        #expect(!ask(&throttle, layer: 1, nowMs: 2))
        #expect(ask(&throttle, layer: 2, nowMs: 2))
    }

    @Test func anotherRequestIsAllowedAnIntervalAfterTheKeyframe() {
        var throttle = KeyframeRequestThrottle(intervalMs: 500, unansweredIntervalMs: 1000)
        #expect(ask(&throttle, layer: 0, nowMs: 0))
        throttle.keyframeArrived(layer: 0, nowMs: 120)
        #expect(!throttle.isPending(layer: 0))
        #expect(!ask(&throttle, layer: 0, nowMs: 499))
        #expect(ask(&throttle, layer: 0, nowMs: 500))
    }

    @Test func unansweredRequestIsRepeatedOnlyAfterTheLongerBackoff() {
        var throttle = KeyframeRequestThrottle(intervalMs: 500, unansweredIntervalMs: 1000)
        #expect(ask(&throttle, layer: 1, nowMs: 0))
        #expect(throttle.isPending(layer: 1))
        #expect(!ask(&throttle, layer: 1, nowMs: 600))
        #expect(!ask(&throttle, layer: 1, nowMs: 999))
        #expect(ask(&throttle, layer: 1, nowMs: 1000))
    }

    @Test func keyframeOfAnotherLayerDoesNotAnswerTheRequest() {
        var throttle = KeyframeRequestThrottle()
        #expect(ask(&throttle, layer: 0, nowMs: 0))
        throttle.keyframeArrived(layer: 1, nowMs: 50)
        #expect(throttle.isPending(layer: 0))
        #expect(!ask(&throttle, layer: 0, nowMs: 600))
    }

    @Test func resetAllowsAnImmediateRequest() {
        var throttle = KeyframeRequestThrottle()
        #expect(ask(&throttle, layer: 2, nowMs: 0))
        throttle.reset()
        #expect(ask(&throttle, layer: 2, nowMs: 1))
    }
}

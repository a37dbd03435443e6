import Foundation
import Testing
@testable import Signalling

@Suite struct MeetingWireTests {
    @Test func decodesEveryClientMessage() throws {
        guard case .join(1, "abc", "Asha", nil, nil)? = try? MeetingWire.Inbound.decode(#"{"type":"join","version":1,"token":"abc","name":"Asha","extra":[1]}"#) else {
            Issue.record("join"); return
        }
        guard case .offer("v=0", [:])? = try? MeetingWire.Inbound.decode(#"{"type":"offer","sdp":"v=0"}"#) else { Issue.record("offer"); return }
        guard case .offer("v=0", ["2": "screen"])? = try? MeetingWire.Inbound.decode(#"{"type":"offer","sdp":"v=0","sources":{"2":"screen"}}"#) else { Issue.record("offer sources"); return }
        guard case .mute("audio", true)? = try? MeetingWire.Inbound.decode(#"{"type":"mute","kind":"audio","muted":true}"#) else { Issue.record("mute"); return }
        guard case .ping(7)? = try? MeetingWire.Inbound.decode(#"{"type":"ping","id":7}"#) else { Issue.record("ping"); return }
        guard case .leave? = try? MeetingWire.Inbound.decode(#"{"type":"leave"}"#) else { Issue.record("leave"); return }
        guard case .join(1, "abc", nil, "r-1", "room")? = try? MeetingWire.Inbound.decode(#"{"type":"join","version":1,"token":"abc","resume":"r-1","room":"room"}"#) else { Issue.record("resume"); return }
        guard case .endMeeting? = try? MeetingWire.Inbound.decode(#"{"type":"end-meeting"}"#) else { Issue.record("end"); return }
        guard case .remove("p-2")? = try? MeetingWire.Inbound.decode(#"{"type":"remove","participant":"p-2"}"#) else { Issue.record("remove"); return }
        guard case .muteParticipant("p-2", "audio")? = try? MeetingWire.Inbound.decode(#"{"type":"mute-participant","participant":"p-2","kind":"audio"}"#) else { Issue.record("mute-participant"); return }
        guard case .videoSize("t-1", 640, 360)? = try? MeetingWire.Inbound.decode(#"{"type":"video-size","track":"t-1","width":640,"height":360}"#) else { Issue.record("video-size"); return }
        guard case .videoSize("t-1", 0, 0)? = try? MeetingWire.Inbound.decode(#"{"type":"video-size","track":"t-1","width":0,"height":0}"#) else { Issue.record("video-size hidden"); return }
        guard case .receiveVideo("low")? = try? MeetingWire.Inbound.decode(#"{"type":"receive-video","mode":"low"}"#) else { Issue.record("receive-video"); return }
    }

    @Test func refusesMalformedMessagesWithAReason() {
        let cases: [(String, String)] = [
            ("", "bad"), ("[]", "bad"), ("{}", "bad"), (#"{"type":5}"#, "bad"), ("null", "bad"),
            (#"{"type":"offer"}"#, "bad"), (#"{"type":"mute","kind":"audio"}"#, "bad"), (#"{"type":"fly"}"#, "unknown"),
            (#"{"type":"video-size","track":"t-1","width":640}"#, "bad"), (#"{"type":"video-size","track":"t-1","width":"640","height":360}"#, "bad"),
            (#"{"type":"video-size","track":"t-1","width":640.5,"height":360}"#, "bad"), (#"{"type":"video-size","width":640,"height":360}"#, "bad"),
            (#"{"type":"video-size","track":"t-1","width":1e30,"height":360}"#, "bad"),
            (#"{"type":"receive-video"}"#, "bad"), (#"{"type":"receive-video","mode":0}"#, "bad"),
        ]
        for (text, expected) in cases {
            do {
                _ = try MeetingWire.Inbound.decode(text)
                Issue.record("\(text) decoded")
            } catch {
                switch error {
                case .badJSON(let why): #expect(expected == "bad" && !why.isEmpty, "\(text)")
                case .unknownType: #expect(expected == "unknown", "\(text)")
                }
            }
        }
    }

    @Test func survivesRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0..<200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? MeetingWire.Inbound.decode(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func serverMessagesAreJSONObjectsWithAType() throws {
        let text = MeetingWire.encode("renegotiate", ["receive": [MeetingWire.ReceiveEntry(track: "t-1", participant: "p-1", kind: "video")]])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "renegotiate")
        #expect((object["receive"] as? [[String: String]])?.first?["track"] == "t-1")
        let error = try #require(try JSONSerialization.jsonObject(with: Data(MeetingWire.error("bad-json", "why", fatal: false).utf8)) as? [String: Any])
        #expect(error["code"] as? String == "bad-json" && error["fatal"] as? Bool == false)
        let silence = try #require(try JSONSerialization.jsonObject(with: Data(MeetingWire.encode("active-speaker", ["participant": String?.none]).utf8)) as? [String: Any])
        #expect(silence["participant"] is NSNull)
    }
}

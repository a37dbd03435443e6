import Foundation
import Testing
@testable import Signalling

/// The admin API's JSON as docs/http-api.md and docs/meetings.md show it: absent values are written as `null`, never
/// left out, so every row has the same keys; dates are ISO 8601; keys come sorted. `sabha room` and `sabha meeting`
/// read the same shapes back, also from servers that leave optional keys out.
@Suite struct AdminWireJSONTests {
    static func encoded(_ value: some Encodable) throws -> String {
        String(decoding: try AdminWire.makeEncoder().encode(value), as: UTF8.self)
    }

    static func roundTrip<T: Codable>(_ type: T.Type, _ json: String) throws -> String {
        try encoded(try AdminWire.makeDecoder().decode(T.self, from: Data(json.utf8)))
    }

    @Test func roomRowsKeepAbsentDatesAsNull() throws {
        let live = AdminWire.RoomSummary(name: "r1", title: "r1", createdAt: nil, source: "join", endedAt: nil, closedAt: nil,
                                         participants: 2, url: "http://127.0.0.1:8080/m/r1", lobby: false, waitForHost: false)
        #expect(try Self.encoded(live) == #"{"closedAt":null,"createdAt":null,"endedAt":null,"lobby":false,"name":"r1","participants":2,"source":"join","title":"r1","url":"http://127.0.0.1:8080/m/r1","waitForHost":false}"#)
        let stored = AdminWire.RoomSummary(name: "r2", title: "Review", createdAt: Date(timeIntervalSince1970: 1_790_000_000), source: "api",
                                           endedAt: Date(timeIntervalSince1970: 1_790_003_600), closedAt: nil, participants: 0, url: "u", lobby: true, waitForHost: false)
        #expect(try Self.encoded(stored) == #"{"closedAt":null,"createdAt":"2026-09-21T14:13:20Z","endedAt":"2026-09-21T15:13:20Z","lobby":true,"name":"r2","participants":0,"source":"api","title":"Review","url":"u","waitForHost":false}"#)
    }

    @Test func roomDetailShowsParticipantsWithEveryKey() throws {
        let track = MeetingWire.TrackInfo(id: "t-1", participant: "p-1", kind: "audio", source: "microphone", muted: false)
        let person = MeetingHub.ParticipantSummary(id: "p-1", identity: "asha", name: "Asha", role: "host", connected: true,
                                                   chosenName: nil, link: nil, tracks: [track])
        let detail = AdminWire.RoomDetail(name: "r1", title: "r1", createdAt: nil, source: "join", endedAt: nil, closedAt: nil, url: "u",
                                          lobby: false, waitForHost: true, participants: [person], removed: [])
        #expect(try Self.encoded(detail) == #"{"closedAt":null,"createdAt":null,"endedAt":null,"lobby":false,"name":"r1","participants":[{"chosenName":null,"connected":true,"id":"p-1","identity":"asha","link":null,"name":"Asha","role":"host","tracks":[{"id":"t-1","kind":"audio","muted":false,"participant":"p-1","source":"microphone"}]}],"removed":[],"source":"join","title":"r1","url":"u","waitForHost":true}"#)
    }

    @Test(arguments: [
        #"{"attempts":0,"createdAt":"2026-12-01T04:00:00Z","id":7,"kind":"calendar-put","lastError":null,"meeting":"m-1","method":null,"nextAttemptAt":"2026-12-01T04:00:00Z","recipient":null,"sentAt":null,"sequence":0,"state":"pending"}"#,
        #"{"attempts":2,"createdAt":"2026-12-01T04:00:00Z","id":8,"kind":"mail","lastError":"450 try later","meeting":"m-1","method":"REQUEST","nextAttemptAt":"2026-12-01T04:05:00Z","recipient":"a@example.gov.in","sentAt":"2026-12-01T04:06:00Z","sequence":1,"state":"sent"}"#,
    ])
    func outboxRowsReadAndWriteTheSameBytes(json: String) throws {
        #expect(try Self.roundTrip(AdminWire.OutboxEntry.self, json) == json)
    }

    @Test func meetingsKeepTheirShape() throws {
        let json = #"{"attendees":[{"answer":"accepted","answerComment":"Will come","answerSource":"mail","answeredAt":"2026-12-01T03:00:00Z","email":"b@example.gov.in","language":"hi","link":"http://h/m/r?t=x&lang=hi","name":"B","role":"participant","status":"invited"},{"answer":"needs-action","email":"c@example.gov.in","language":"en","name":"C","role":"viewer","status":"removed"}],"createdAt":"2026-12-01T04:00:00Z","description":"","end":"2026-12-01T05:30:00Z","id":"m-1","joinClosesAt":"2026-12-01T06:00:00Z","joinOpensAt":"2026-12-01T04:15:00Z","lobby":true,"organizer":{"email":"a@example.gov.in","link":"http://h/m/r?t=y","name":"A"},"report":"pending","room":"r","sequence":0,"source":"api","start":"2026-12-01T04:30:00Z","status":"scheduled","timezone":"Asia/Kolkata","title":"Review","uid":"u-1","updatedAt":"2026-12-01T04:00:00Z","url":"http://h/m/r"}"#
        #expect(try Self.roundTrip(AdminWire.Meeting.self, json) == json)
    }

    @Test func clientsReadRowsThatLeaveOptionalKeysOut() throws {
        let decoder = AdminWire.makeDecoder()
        let room = try decoder.decode(AdminWire.RoomSummary.self, from: Data(#"{"name":"r","title":"r","source":"join","participants":0,"url":"u","lobby":false,"waitForHost":false}"#.utf8))
        #expect(room.createdAt == nil && room.endedAt == nil && room.closedAt == nil)
        let entry = try decoder.decode(AdminWire.OutboxEntry.self, from: Data(#"{"id":1,"meeting":"m","kind":"mail","sequence":0,"state":"pending","attempts":0,"nextAttemptAt":"2026-12-01T04:00:00Z","createdAt":"2026-12-01T04:00:00Z"}"#.utf8))
        #expect(entry.recipient == nil && entry.sentAt == nil && entry.lastError == nil)
        let person = try decoder.decode(MeetingHub.ParticipantSummary.self, from: Data(#"{"id":"p","identity":"i","name":"n","role":"viewer","connected":false,"tracks":[]}"#.utf8))
        #expect(person.chosenName == nil && person.link == nil)
    }

    @Test func aPresentValueOfTheWrongTypeIsStillAnError() {
        #expect(throws: DecodingError.self) {
            try AdminWire.makeDecoder().decode(AdminWire.RoomSummary.self,
                                               from: Data(#"{"name":"r","title":"r","source":"join","participants":0,"url":"u","createdAt":5}"#.utf8))
        }
    }
}

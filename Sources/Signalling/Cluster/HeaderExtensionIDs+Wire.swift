import MediaCore

/// Header extension ids as the nodes of a cluster tell each other (`RelayWire`, `MeetingMediaWire`): by name, the
/// negotiated ones only.
extension HeaderExtensionIDs {
    var named: [String: UInt8] {
        ["mid": mid, "rid": rid, "repairedRid": repairedRid, "audioLevel": audioLevel, "absSendTime": absSendTime,
         "transportWideCC": transportWideCC].filter { $0.value != 0 }
    }

    init(named names: [String: UInt8]) {
        self.init()
        mid = names["mid"] ?? 0
        rid = names["rid"] ?? 0
        repairedRid = names["repairedRid"] ?? 0
        audioLevel = names["audioLevel"] ?? 0
        absSendTime = names["absSendTime"] ?? 0
        transportWideCC = names["transportWideCC"] ?? 0
    }
}

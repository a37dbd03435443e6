extension SDPError {
    /// The kind of problem, as a short stable string for logs, metrics and tests.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Built through `SDPError(line:_:)` without a more precise kind.
        public static let invalidOffer = Code(rawValue: "invalid-offer")
        /// A line that does not follow RFC 8866 or the grammar of its attribute.
        public static let malformed = Code(rawValue: "malformed")
        /// More than `SessionDescription.maximumSize` bytes.
        public static let tooLarge = Code(rawValue: "too-large")
        /// More than `SessionDescription.maximumMediaSections` m-lines.
        public static let tooManyMediaSections = Code(rawValue: "too-many-m-lines")
        public static let missingICECredentials = Code(rawValue: "missing-ice-credentials")
        public static let invalidICECredentials = Code(rawValue: "invalid-ice-credentials")
        /// Bundled m-lines carry different ICE credentials or setup roles.
        public static let conflictingTransport = Code(rawValue: "conflicting-transport")
        /// The offerer is ICE-lite too: two lite agents never connect.
        public static let remoteICELite = Code(rawValue: "remote-ice-lite")
        public static let missingFingerprint = Code(rawValue: "missing-fingerprint")
        public static let invalidFingerprint = Code(rawValue: "invalid-fingerprint")
        /// a=setup other than actpass or active.
        public static let unsupportedSetup = Code(rawValue: "unsupported-setup")
        public static let missingRTCPMux = Code(rawValue: "missing-rtcp-mux")
        /// Several accepted m-lines that are not all in one a=group:BUNDLE.
        public static let missingBundle = Code(rawValue: "missing-bundle")
        /// Plan B: several sources (msids, unrelated SSRCs) in one m-line.
        public static let notUnifiedPlan = Code(rawValue: "not-unified-plan")
        public static let missingMid = Code(rawValue: "missing-mid")
        public static let duplicateMid = Code(rawValue: "duplicate-mid")
        /// a=simulcast and a=rid lines that contradict each other (RFC 8853 §5.1, RFC 8851).
        public static let invalidSimulcast = Code(rawValue: "invalid-simulcast")
        /// Every m-line was rejected; the reason lists why for each.
        public static let noUsableMedia = Code(rawValue: "no-usable-media")
    }

    static func malformed(line: Int?, _ reason: String) -> SDPError {
        SDPError(.malformed, line: line, reason)
    }
}

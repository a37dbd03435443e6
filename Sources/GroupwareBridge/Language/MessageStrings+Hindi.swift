/// Hindi (हिन्दी). Drafted by the developers; to be read by a native speaker of the department before release.
extension MessageStrings {
    static let hindi = MessageStrings(
        invitationSubject: { "आमंत्रण: \($0)" },
        updatedSubject: { "अद्यतन आमंत्रण: \($0)" },
        cancelledSubject: { "रद्द: \($0)" },
        invites: { "\($0) आपको \"\($1)\" में आमंत्रित करते हैं।" },
        updated: { "\($0) ने \"\($1)\" का आमंत्रण अद्यतन किया है।" },
        cancelled: { "\($0) ने \"\($1)\" रद्द कर दी है।" },
        when: "समय",
        join: "जुड़ें",
        joinTheMeeting: "बैठक में जुड़ें",
        personalLink: "यह लिंक केवल आपके लिए है: कृपया इसे आगे न भेजें।",
        plannedFor: { "यह बैठक \($0) के लिए निर्धारित थी।" },
        conferenceLabel: "जुड़ें")
}

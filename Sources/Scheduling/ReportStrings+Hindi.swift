/// Hindi (हिन्दी). Drafted by the developers; to be read by a native speaker of the department before release.
extension ReportStrings {
    static let hindi = ReportStrings(
        subject: { "उपस्थिति: \($0)" },
        heading: { "\"\($0)\" में उपस्थिति, \($1)।" },
        ended: { "बैठक \($0) पर समाप्त हुई।" },
        invited: { "आमंत्रित: \($0)" },
        attended: { "उपस्थित: \($1) आमंत्रितों में से \($0)" },
        guests: { "अन्य लिंक से आए अतिथि: \($0)" },
        accepted: "स्वीकार किया",
        declined: "अस्वीकार किया",
        tentative: "संभावित",
        noAnswer: "कोई उत्तर नहीं",
        delegated: "प्रतिनिधि भेजा",
        organizer: "आयोजक",
        guest: "अतिथि",
        present: { "उपस्थित \($0) (\($1)–\($2))" },
        notJoined: "नहीं जुड़े",
        reconnects: { "\($0) बार फिर से जुड़े" },
        removed: { "\($0) द्वारा हटाए गए" },
        attachment: { "संलग्न CSV में सभी के नाम हैं; समय \($0) के अनुसार है।" },
        calendarHeading: "उपस्थिति")
}

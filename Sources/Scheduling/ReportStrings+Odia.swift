/// Odia (ଓଡ଼ିଆ). Drafted by the developers; to be read by a native speaker of the department before release.
extension ReportStrings {
    static let odia = ReportStrings(
        subject: { "ଉପସ୍ଥିତି: \($0)" },
        heading: { "\"\($0)\"ରେ ଉପସ୍ଥିତି, \($1)।" },
        ended: { "ବୈଠକ \($0)ରେ ଶେଷ ହେଲା।" },
        invited: { "ନିମନ୍ତ୍ରିତ: \($0)" },
        attended: { "ଉପସ୍ଥିତ: \($1) ନିମନ୍ତ୍ରିତଙ୍କ ମଧ୍ୟରୁ \($0)" },
        guests: { "ଅନ୍ୟ ଲିଙ୍କରେ ଆସିଥିବା ଅତିଥି: \($0)" },
        accepted: "ସ୍ୱୀକାର କଲେ",
        declined: "ଅସ୍ୱୀକାର କଲେ",
        tentative: "ସମ୍ଭାବ୍ୟ",
        noAnswer: "ଉତ୍ତର ନାହିଁ",
        delegated: "ପ୍ରତିନିଧି ପଠାଇଲେ",
        organizer: "ଆୟୋଜକ",
        guest: "ଅତିଥି",
        present: { "ଉପସ୍ଥିତ \($0) (\($1)–\($2))" },
        notJoined: "ଯୋଗ ଦେଲେ ନାହିଁ",
        reconnects: { "\($0) ଥର ପୁଣି ଯୋଗ ଦେଲେ" },
        removed: { "\($0) ଦ୍ୱାରା ହଟାଗଲା" },
        attachment: { "ସଂଲଗ୍ନ CSVରେ ସମସ୍ତଙ୍କ ନାମ ଅଛି; ସମୟ \($0) ଅନୁସାରେ।" },
        calendarHeading: "ଉପସ୍ଥିତି")
}

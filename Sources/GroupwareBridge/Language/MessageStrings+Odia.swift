/// Odia (ଓଡ଼ିଆ). Drafted by the developers; to be read by a native speaker of the department before release.
extension MessageStrings {
    static let odia = MessageStrings(
        invitationSubject: { "ନିମନ୍ତ୍ରଣ: \($0)" },
        updatedSubject: { "ଅଦ୍ୟତନ ନିମନ୍ତ୍ରଣ: \($0)" },
        cancelledSubject: { "ବାତିଲ: \($0)" },
        invites: { "\($0) ଆପଣଙ୍କୁ \"\($1)\"କୁ ନିମନ୍ତ୍ରଣ କରୁଛନ୍ତି।" },
        updated: { "\($0) \"\($1)\"ର ନିମନ୍ତ୍ରଣ ଅଦ୍ୟତନ କରିଛନ୍ତି।" },
        cancelled: { "\($0) \"\($1)\" ବାତିଲ କରିଛନ୍ତି।" },
        when: "ସମୟ",
        join: "ଯୋଗ ଦିଅନ୍ତୁ",
        joinTheMeeting: "ବୈଠକରେ ଯୋଗ ଦିଅନ୍ତୁ",
        personalLink: "ଏହି ଲିଙ୍କ କେବଳ ଆପଣଙ୍କ ପାଇଁ: ଦୟାକରି ଏହାକୁ ଅନ୍ୟ କାହାକୁ ପଠାନ୍ତୁ ନାହିଁ।",
        plannedFor: { "ଏହି ବୈଠକ \($0) ପାଇଁ ସ୍ଥିର ହୋଇଥିଲା।" },
        conferenceLabel: "ଯୋଗ ଦିଅନ୍ତୁ")
}

import Testing
@testable import GroupwareBridge

@Test func productIDFollowsRFC5545FormalPublicIdentifier() {
    #expect(GroupwareBridge.productID.hasPrefix("-//"))
    #expect(GroupwareBridge.productID.hasSuffix("//EN"))
}

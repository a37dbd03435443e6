import Testing
@testable import Signalling

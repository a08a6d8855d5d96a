import Testing

@testable import GuestImage

@Test("the GuestImage module links")
func guestImageModuleLinks() {
    #expect(String(describing: GuestImage.self) == "GuestImage")
}

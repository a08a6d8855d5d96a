import Testing

@testable import QEMU

@Test("the QEMU module links")
func qemuModuleLinks() {
    #expect(String(describing: QEMU.self) == "QEMU")
}

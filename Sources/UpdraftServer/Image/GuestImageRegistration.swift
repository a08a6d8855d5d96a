import Foundation
import GuestImage
import Logging
import UpdraftCore
import UpdraftImage

extension UpdraftServer {
    /// Registers the built-in guest image (`updraft image build tiny`) as a public featured
    /// image when it has been built; nothing when it has not. Idempotent across starts.
    static func registerGuestImage(_ configuration: Configuration, images: ImageService, logger: Logger) async throws {
        let cache =
            configuration.guestImageCache ?? GuestImage.defaultCacheDirectory(environment: ProcessInfo.processInfo.environment)
        guard let artifacts = GuestImage.cached(cacheDirectory: cache) else {
            logger.info("no built-in guest image in \(cache); run `updraft image build tiny` to add one")
            return
        }
        let image = try await images.registerBuiltIn(
            name: "updraft-tiny", file: artifacts.disk.path, diskFormat: "qcow2", containerFormat: "bare",
            properties: ["os_distro": "updraft-tiny", "hw_qemu_guest_agent": "no", "default_user": "updraft"],
            description: "Updraft's tiny guest: a Debian kernel with busybox and dropbear. Boots in seconds; "
                + "log in as updraft with your key pair.")
        logger.info("built-in guest image registered", metadata: ["image": "\(image.id)"])
    }

    /// Publishes each of the configuration's featured library images from the cache; one
    /// that was never built stops the start, naming the command that builds it.
    static func registerFeaturedImages(_ configuration: Configuration, images: ImageService, logger: Logger)
        async throws
    {
        let cache =
            configuration.guestImageCache ?? GuestImage.defaultCacheDirectory(environment: ProcessInfo.processInfo.environment)
        for name in configuration.featuredImages {
            guard let built = GuestImage.LibraryImage.cached(name, cacheDirectory: cache) else {
                throw UpdraftError.badRequest(
                    "no built image \(name) in \(cache); run `updraft image build \(name)` first")
            }
            let manifest = built.manifest
            let image = try await images.registerBuiltIn(
                name: name, file: built.disk.path, diskFormat: "qcow2", containerFormat: "bare",
                properties: manifest.properties, description: manifest.description, minDisk: manifest.minDisk,
                minRAM: manifest.minRAM)
            logger.info("featured image published", metadata: ["image": "\(image.id)", "name": "\(name)"])
        }
    }
}

import Foundation

extension GuestImage {
    /// A featured image of the library, as data: a Debian 12 system made by `mmdebstrap` from
    /// Debian's packages, plus files, on a disk that boots under SeaBIOS and grows to the
    /// flavor's disk. A site adds its own as a JSON file in ``siteDirectory`` (see README.md):
    ///
    /// ```json
    /// {"name": "debian-12-astro", "base": "debian-12", "version": 1,
    ///  "description": "Debian 12 with astropy", "packages": ["python3-astropy"]}
    /// ```
    public struct LibraryRecipe: Codable, Sendable, Equatable {
        /// The recipe's and the image's name, e.g. `debian-12`.
        public var name: String
        /// A recipe whose packages, files, units and properties this one starts from.
        public var base: String?
        /// Bumped when the recipe changes, so a cached build of the old one is rebuilt.
        public var version: Int
        /// The image's `description` property.
        public var description: String
        /// Debian packages installed on top of the base's (or of Debian's `important` set).
        public var packages: [String]
        /// Files written into the system after the packages: absolute path to contents. A
        /// contents starting with `#!` is made executable.
        public var files: [String: String]
        /// systemd units enabled after the files are written.
        public var enable: [String]
        /// Glance properties of the published image, over the base's.
        public var properties: [String: String]
        /// The disk's size in GiB: the image's `min_disk`; a bigger flavor's disk grows it at boot.
        public var diskGiB: Int
        /// The image's `min_ram`, MiB.
        public var minRAMMiB: Int

        enum CodingKeys: String, CodingKey {
            case name, base, version, description, packages, files, enable, properties
            case diskGiB = "disk_gib"
            case minRAMMiB = "min_ram_mib"
        }

        public init(
            name: String, base: String? = nil, version: Int = 1, description: String, packages: [String] = [],
            files: [String: String] = [:], enable: [String] = [], properties: [String: String] = [:], diskGiB: Int = 0,
            minRAMMiB: Int = 0
        ) {
            self.name = name
            self.base = base
            self.version = version
            self.description = description
            self.packages = packages
            self.files = files
            self.enable = enable
            self.properties = properties
            self.diskGiB = diskGiB
            self.minRAMMiB = minRAMMiB
        }

        /// Every key but `name`, `version` and `description` may be left out of a site's file.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            base = try c.decodeIfPresent(String.self, forKey: .base)
            version = try c.decode(Int.self, forKey: .version)
            description = try c.decode(String.self, forKey: .description)
            packages = try c.decodeIfPresent([String].self, forKey: .packages) ?? []
            files = try c.decodeIfPresent([String: String].self, forKey: .files) ?? [:]
            enable = try c.decodeIfPresent([String].self, forKey: .enable) ?? []
            properties = try c.decodeIfPresent([String: String].self, forKey: .properties) ?? [:]
            diskGiB = try c.decodeIfPresent(Int.self, forKey: .diskGiB) ?? 0
            minRAMMiB = try c.decodeIfPresent(Int.self, forKey: .minRAMMiB) ?? 0
        }

        /// This recipe over its base: packages, files, units and properties added to the base's,
        /// the disk and memory the larger of the two, the version the sum (so a change to the
        /// base rebuilds every image made from it).
        func over(_ base: LibraryRecipe) -> LibraryRecipe {
            LibraryRecipe(
                name: name, base: nil, version: base.version + version, description: description,
                packages: base.packages + packages.filter { !base.packages.contains($0) },
                files: base.files.merging(files) { _, mine in mine },
                enable: base.enable + enable.filter { !base.enable.contains($0) },
                properties: base.properties.merging(properties) { _, mine in mine }, diskGiB: max(base.diskGiB, diskGiB),
                minRAMMiB: max(base.minRAMMiB, minRAMMiB))
        }
    }
}

extension GuestImage.LibraryRecipe {
    /// Where a site's own recipes live, one `NAME.json` each.
    public static let siteDirectory = "/etc/updraft/recipes"

    /// The recipes Updraft ships.
    public static let builtIn: [GuestImage.LibraryRecipe] = [debian12, debian12Science, debian12Docker]

    /// The recipe `name` with its bases applied: a site's file in `directory` first, then the
    /// built-in one.
    ///
    /// - Throws: ``GuestImage/Error/package(_:)`` for an unknown name, a base loop or a file
    ///   that does not parse.
    public static func resolve(_ name: String, siteDirectory directory: String = siteDirectory) throws
        -> GuestImage.LibraryRecipe
    {
        var seen: [String] = []
        func find(_ name: String) throws -> GuestImage.LibraryRecipe {
            guard !seen.contains(name) else {
                throw GuestImage.Error.package("recipe \(name) is its own base (\(seen.joined(separator: " → ")))")
            }
            seen.append(name)
            var recipe: GuestImage.LibraryRecipe
            let file = directory + "/" + name + ".json"
            if let data = FileManager.default.contents(atPath: file) {
                do {
                    recipe = try JSONDecoder().decode(GuestImage.LibraryRecipe.self, from: data)
                } catch {
                    throw GuestImage.Error.package("\(file) is not a recipe: \(error)")
                }
                guard recipe.name == name else {
                    throw GuestImage.Error.package("\(file) names the recipe \(recipe.name), not \(name)")
                }
            } else if let shipped = builtIn.first(where: { $0.name == name }) {
                recipe = shipped
            } else {
                let known = (builtIn.map(\.name) + ["tiny"]).joined(separator: ", ")
                throw GuestImage.Error.package("unknown recipe \(name); the built-in ones are \(known)")
            }
            if let base = recipe.base { recipe = recipe.over(try find(base)) }
            return recipe
        }
        return try find(name)
    }

    /// `debian-12`: what Debian's own cloud images hold, booting from our metadata.
    static let debian12 = GuestImage.LibraryRecipe(
        name: "debian-12", version: 2,
        description:
            "Debian 12 (bookworm) with cloud-init, the cloud kernel, SSH, sudo, the QEMU guest agent and "
            + "unattended security upgrades. Log in as debian with your key pair.",
        packages: [
            "linux-image-cloud-amd64", "systemd-sysv", "udev", "dbus", "cloud-init", "cloud-guest-utils", "openssh-server",
            "sudo", "qemu-guest-agent", "unattended-upgrades", "ifupdown", "isc-dhcp-client", "netbase", "iproute2",
            // cloud-init's ifupdown configuration adds a static default route with `route`.
            "net-tools",
            "e2fsprogs", "ca-certificates", "curl", "less", "vim-tiny", "locales", "apt-utils",
        ],
        files: [
            "/etc/fstab": """
            PARTUUID=\(GuestImage.LibraryBuilder.diskIDHex)-02 / ext4 errors=remount-ro 0 1
            PARTUUID=\(GuestImage.LibraryBuilder.diskIDHex)-01 /boot/firmware vfat umask=0077 0 2

            """,
            "/etc/hostname": "localhost\n",
            "/etc/hosts": "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
            "/etc/network/interfaces": "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n",
            "/etc/apt/sources.list": """
            deb http://deb.debian.org/debian bookworm main
            deb http://deb.debian.org/debian bookworm-updates main
            deb http://deb.debian.org/debian-security bookworm-security main

            """,
            "/etc/apt/apt.conf.d/20auto-upgrades": """
            APT::Periodic::Update-Package-Lists "1";
            APT::Periodic::Unattended-Upgrade "1";

            """,
            "/etc/cloud/cloud.cfg.d/90-updraft.cfg": """
            # Updraft's metadata: the config drive when there is one, else the metadata service.
            datasource_list: [ConfigDrive, OpenStack, None]
            ssh_pwauth: false
            # Always there, with no locale to generate first.
            locale: C.UTF-8

            """,
            "/etc/ssh/sshd_config.d/50-updraft.conf": "PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
            // A new kernel (from unattended-upgrades too) is copied to the boot partition
            // SYSLINUX reads, under the names it boots.
            "/etc/kernel/postinst.d/zz-updraft-boot": GuestImage.LibraryBuilder.bootCopyHook,
            "/etc/initramfs/post-update.d/zz-updraft-boot": GuestImage.LibraryBuilder.bootCopyHook,
        ],
        properties: [
            "os_distro": "debian", "os_version": "12", "os_admin_user": "debian", "hw_qemu_guest_agent": "yes",
            "hw_disk_bus": "virtio", "hw_vif_model": "virtio", "os_type": "linux",
        ],
        diskGiB: 3, minRAMMiB: 512)

    /// `debian-12-science`: the same with Python's scientific stack, Jupyter, R, build tools and git.
    static let debian12Science = GuestImage.LibraryRecipe(
        name: "debian-12-science", base: "debian-12", version: 1,
        description:
            "Debian 12 for research computing: Python 3 with NumPy, SciPy, pandas and Matplotlib, Jupyter "
            + "Notebook (`sudo systemctl start jupyter`, then an SSH tunnel to port 8888), R, build tools and git. "
            + "Log in as debian with your key pair.",
        packages: [
            "python3", "python3-pip", "python3-venv", "python3-numpy", "python3-scipy", "python3-pandas",
            "python3-matplotlib", "jupyter-notebook", "r-base-core", "build-essential", "gfortran", "git",
        ],
        files: [
            "/etc/systemd/system/jupyter.service": """
            [Unit]
            Description=Jupyter Notebook for the default user, on localhost:8888 (reach it by an SSH tunnel)
            After=network-online.target cloud-final.service

            [Service]
            User=debian
            WorkingDirectory=/home/debian
            ExecStart=/usr/bin/jupyter-notebook --no-browser --ip=127.0.0.1 --port=8888
            Restart=on-failure

            [Install]
            WantedBy=multi-user.target

            """
        ],
        properties: ["os_variant": "science"], diskGiB: 6, minRAMMiB: 1024)

    /// `debian-12-docker`: the same as `debian-12` with Docker's engine, for container users.
    static let debian12Docker = GuestImage.LibraryRecipe(
        name: "debian-12-docker", base: "debian-12", version: 2,
        description:
            "Debian 12 with Docker (docker.io): the default user debian is in the docker group. "
            + "Log in as debian with your key pair.",
        // apparmor: Debian's kernel enables AppArmor, and dockerd then loads its default
        // profile with apparmor_parser or runs no container (a recommends of docker.io, which
        // the builder does not install).
        packages: ["docker.io", "docker-compose", "apparmor"],
        files: [
            "/etc/cloud/cloud.cfg.d/91-docker.cfg": """
            # The default user runs containers without sudo.
            system_info:
              default_user:
                groups: [adm, audio, cdrom, dialout, dip, floppy, netdev, plugdev, sudo, video, docker]

            """
        ],
        properties: ["os_variant": "docker"], diskGiB: 4, minRAMMiB: 1024)
}

"""The image library's featured Debian image, configured by real cloud-init from Updraft's
metadata: `updraft image build debian-12` (mmdebstrap, Debian's packages), `updraft image
publish` into the session's cloud, then the real `openstack` CLI boots it on a routed network
with a floating IP, a key pair and a multipart user-data (a `#cloud-config` and a shell
script), and the test logs in over SSH as `debian`.

Guests of this size boot for minutes under TCG, so `./test.sh` runs the module once, after the
SQLite tier, and never on the PostgreSQL tier.
"""

from __future__ import annotations

import json
import os
import shutil
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import (DATABASE, UPDRAFT_BIN, Cleanup, Cloud, Factory, SSHGuest, base_env, eventually, module_scratch,
                      unique, wait_for)

pytestmark = [
    pytest.mark.updraft_only,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("dnsmasq")
                       or not shutil.which("ssh"), reason="real tenant networks need root, nft, dnsmasq and ssh"),
    pytest.mark.skipif(bool(DATABASE), reason="the library's guests boot once, on the SQLite tier"),
]

IMAGE = "debian-12"
BOOT_DEADLINE = 600.0  # to SSH, under TCG on a loaded 2-core machine

CLOUD_CONFIG = """#cloud-config
write_files:
  - path: /etc/updraft-e2e
    content: |
      written by cloud-init
runcmd:
  - [sh, -c, "echo ran > /var/tmp/updraft-runcmd"]
"""

SCRIPT = """#!/bin/sh
echo "script ran as $(id -un)" > /var/tmp/updraft-script
"""


def multipart_user_data() -> str:
    """A multipart MIME user-data, as cloud-init's `make-mime` writes it: the #cloud-config and a
    shell script, each a part of its own."""
    message = MIMEMultipart()
    message.attach(MIMEText(CLOUD_CONFIG, "cloud-config"))
    message.attach(MIMEText(SCRIPT, "x-shellscript"))
    return message.as_string()


def debian(key: Path, address: str) -> SSHGuest:
    """SSH as `debian`, with room for a guest under TCG."""
    return SSHGuest(key, address, user="debian", timeout=60.0, answer_timeout=15.0)


class Library:
    """The published image and one server booted from it with a cloud-config."""

    def __init__(self, cloud: Cloud, cleanup: Cleanup, root: Path) -> None:
        self.cloud = cloud
        assert cloud.data_dir is not None
        built = subprocess.run([str(UPDRAFT_BIN), "image", "build", IMAGE], capture_output=True, text=True,
                               env=base_env(), timeout=3600)
        assert built.returncode == 0, built.stderr
        published = subprocess.run([str(UPDRAFT_BIN), "image", "publish", IMAGE, "--data-dir", str(cloud.data_dir)],
                                   capture_output=True, text=True, env=base_env(), timeout=600)
        assert published.returncode == 0, published.stderr
        self.image_id = published.stdout.strip()

        user, project = Factory(cloud.api, cleanup).member()
        self.env = cloud.user_env(user["name"], user["password"], project_name=project["name"])
        self.key = root / "key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        self.flavor = cloud.openstack("flavor", "create", unique("deb"), "--ram", "1024", "--vcpus", "1",
                                      "--disk", "5")
        self.net = self.cli("network", "create", unique("net"))
        self.subnet = self.cli("subnet", "create", unique("sub"), "--network", self.net["id"],
                               "--subnet-range", "10.62.0.0/24")
        self.router = self.cli("router", "create", unique("router"), "--external-gateway", "public")
        self.cli("router", "add", "subnet", self.router["id"], self.subnet["id"])
        self.group = self.cli("security", "group", "create", unique("sg"))
        self.cli("security", "group", "rule", "create", self.group["id"], "--protocol", "tcp", "--dst-port", "22")
        self.keypair = self.cli("keypair", "create", "--public-key", f"{self.key}.pub", unique("key"))
        self.user_data = user_data = root / "user-data.mime"
        user_data.write_text(multipart_user_data())
        # A boots on the DHCP subnet and reads the metadata service; B, at the same time, on a
        # subnet without DHCP, where only its config drive tells it its address.
        static = self.cli("subnet", "create", unique("static"), "--network", self.net["id"], "--no-dhcp",
                          "--subnet-range", "10.63.0.0/24")
        self.cli("router", "add", "subnet", self.router["id"], static["id"])
        port = self.cli("port", "create", unique("static"), "--network", self.net["id"],
                        "--fixed-ip", f"subnet={static['id']}", "--security-group", self.group["id"])
        self.static_address = port["fixed_ips"][0]["ip_address"]
        self.name = unique("deb").replace("_", "-")
        self.drive_name = unique("deb-cd").replace("_", "-")
        started = time.monotonic()
        self.server = self.cli("server", "create", self.name, "--image", self.image_id, "--flavor", self.flavor["id"],
                               "--network", self.net["id"], "--security-group", self.group["id"],
                               "--key-name", self.keypair["name"], "--user-data", str(user_data))
        self.drive_server = self.cli("server", "create", self.drive_name, "--image", self.image_id,
                                     "--flavor", self.flavor["id"], "--port", port["id"], "--config-drive", "true",
                                     "--key-name", self.keypair["name"], "--user-data", str(user_data))
        self.guest = self.reach(self.server["id"])
        self.drive_guest = self.reach(self.drive_server["id"], port=port["id"])
        self.boot_to_ssh = time.monotonic() - started
        print(f"\n{IMAGE}: two servers created to SSH as debian in {self.boot_to_ssh:.1f} s")

    def reach(self, server: str, port: str | None = None, floating: str | None = None) -> SSHGuest:
        """Waits for `server` to be ACTIVE, gives it a floating IP (unless it has `floating`)
        and waits for SSH."""
        wait_for(f"server {server} ACTIVE", lambda: self.cli("server", "show", server)["status"] == "ACTIVE", 300)
        if floating:
            address = floating
        elif port:
            address = self.cli("floating", "ip", "create", "public", "--port", port)["floating_ip_address"]
        else:
            address = self.cli("floating", "ip", "create", "public")["floating_ip_address"]
            self.cli("server", "add", "floating", "ip", server, address)
        guest = debian(self.key, address)
        assert eventually(guest.answers, BOOT_DEADLINE, interval=3), (
            f"no SSH as debian through {address}; console:\n{self.console(server)[-3000:]}")
        return guest

    def cli(self, *args: str) -> Any:
        return self.cloud.openstack(*args, env=self.env)

    def console(self, server: str | None = None) -> str:
        return self.cloud.openstack("console", "log", "show", server or self.server["id"], env=self.env,
                                    json_output=False)


@pytest.fixture(scope="module")
def library(cloud: Cloud) -> Iterator[Library]:
    with module_scratch(cloud, "updraft-e2e-library-") as (cleanup, root):
        yield Library(cloud, cleanup, root)


def test_the_published_image_is_public_featured_and_carries_glances_properties(library: Library) -> None:
    cloud = library.cloud
    image = cloud.openstack("image", "show", library.image_id, env=library.env)
    assert (image["name"], image["visibility"], image["status"]) == (IMAGE, "public", "active")
    assert (image["min_disk"], image["min_ram"]) == (3, 512)
    props = image["properties"]
    assert (props["os_distro"], props["os_version"], props["os_admin_user"]) == ("debian", "12", "debian")
    assert (props["hw_qemu_guest_agent"], props["hw_disk_bus"]) == ("yes", "virtio")
    assert "cloud-init" in props["description"]
    # Featured images list first.
    assert cloud.openstack("image", "list", env=library.env)[0]["Name"] in (IMAGE, "updraft-tiny")
    # Publishing the same build again changes nothing.
    again = subprocess.run([str(UPDRAFT_BIN), "image", "publish", IMAGE, "--data-dir", str(cloud.data_dir)],
                           capture_output=True, text=True, env=base_env(), timeout=600)
    assert (again.returncode, again.stdout.strip()) == (0, library.image_id), again.stderr


def carried(answer: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str] | None:
    """The answer, unless SSH itself failed (status 255)."""
    return answer if answer.returncode != 255 else None


def assert_configured(guest: SSHGuest, server: dict[str, Any], source: str) -> None:
    """cloud-init finished from `source` without errors and did what the user data, the cloud's
    vendor data and the metadata asked: files, commands, hostname and instance id. SSH may
    answer and then refuse for a moment while cloud-init restarts sshd on a first boot: the
    status is asked again until SSH carries the answer."""
    status = wait_for("cloud-init's status over SSH",
                      lambda: carried(guest.run("cloud-init status --wait --long", timeout=600)), 600, interval=3)
    assert "status: done" in status.stdout, status.stdout + status.stderr
    assert "errors: []" in status.stdout or "errors" not in status.stdout, status.stdout
    assert source in status.stdout, status.stdout
    assert guest.run("cat /etc/updraft-e2e").stdout == "written by cloud-init\n"
    assert guest.run("cat /var/tmp/updraft-runcmd").stdout == "ran\n"
    assert guest.run("cat /var/tmp/updraft-script").stdout == "script ran as root\n"
    assert guest.run("cat /var/tmp/updraft-vendor").stdout == "from the vendor\n"
    assert guest.run("hostname").stdout.strip() == server["name"]
    # Nova's instance id is the server's UUID, on the config drive and from the metadata service.
    assert guest.run("sudo -n cat /var/lib/cloud/data/instance-id").stdout.strip() == server["id"]


def test_cloud_init_configures_the_guest_from_the_metadata_service(library: Library) -> None:
    guest = library.guest
    assert_configured(guest, library.server, "DataSourceOpenStack")
    assert guest.run("sudo -n id -u").stdout.strip() == "0"
    # The root filesystem grew to the flavor's 5 GB disk.
    size = int(guest.run("df -B1 --output=size / | tail -n 1").stdout.strip())
    assert size > 4.5e9, size
    # Password logins are off; unattended upgrades are on.
    assert "passwordauthentication no" in guest.run("sudo -n sshd -T").stdout
    assert 'Unattended-Upgrade "1"' in guest.run("cat /etc/apt/apt.conf.d/20auto-upgrades").stdout


def server_log(cloud: Cloud) -> str:
    assert cloud.server is not None
    return Path(cloud.server.log_path).read_text(errors="replace")


def test_the_config_drive_alone_configures_the_guest_on_a_network_without_dhcp(library: Library) -> None:
    guest = library.drive_guest
    assert_configured(guest, library.drive_server, "DataSourceConfigDrive")
    assert f"inet {library.static_address}/24" in guest.run("ip -4 -o addr").stdout
    assert "default via 10.63.0.1" in guest.run("ip route").stdout


slower_job = pytest.mark.skipif(
    not os.environ.get("UPDRAFT_E2E_SLOW_LIBRARY"),
    reason="the slower job: UPDRAFT_E2E_SLOW_LIBRARY=1 rebuilds both servers, boots debian-12-science, "
           "debian-12-docker and a volume-backed debian-12 (tests/e2e/README.md)")


@slower_job
def test_rebuilt_servers_are_configured_afresh_from_the_metadata_service_and_a_new_config_drive(
        library: Library) -> None:
    """A rebuild replaces the root disk (and the config drive). As in Nova the server keeps its
    UUID, so cloud-init's instance id is the same; the new disk has no record of the last run,
    so cloud-init configures it from the start. Both servers are rebuilt at once. In the slower
    job: two more Debian boots under TCG."""
    servers = [(library.server, library.guest, "DataSourceOpenStack"),
               (library.drive_server, library.drive_guest, "DataSourceConfigDrive")]
    for server, guest, _ in servers:
        guest.run("echo old disk > /var/tmp/updraft-before-rebuild")
        library.cli("server", "rebuild", "--image", library.image_id, server["id"])
    for server, old, source in servers:
        guest = library.reach(server["id"], floating=old.address)
        assert_configured(guest, server, source)
        assert guest.run("test -e /var/tmp/updraft-before-rebuild").returncode == 1
    assert f"inet {library.static_address}/24" in library.drive_guest.run("ip -4 -o addr").stdout


def test_a_quiesced_snapshot_boots_and_stop_goes_through_the_guest_agent(library: Library) -> None:
    cloud, server = library.cloud, library.server["id"]
    # The agent answers inside the guest before anything asks it.
    assert library.guest.run("systemctl is-active qemu-guest-agent").stdout.strip() == "active"
    snapshot = library.cli("server", "image", "create", "--name", unique("deb-snap"), "--wait", server)
    assert "guest filesystems frozen for a snapshot" in server_log(cloud)
    assert library.cli("image", "show", snapshot["id"])["status"] == "active"
    # The snapshot boots while its origin stops.
    name = unique("deb-from-snap").replace("_", "-")
    again = library.cli("server", "create", name, "--image", snapshot["id"], "--flavor", library.flavor["id"],
                        "--network", library.net["id"], "--security-group", library.group["id"],
                        "--key-name", library.keypair["name"])

    library.cli("server", "stop", server)
    wait_for("the server SHUTOFF", lambda: library.cli("server", "show", server)["status"] == "SHUTOFF", 300)
    assert "guest asked to power off through its agent" in server_log(cloud)
    console = library.console()
    assert "reboot: Power down" in console, console[-2000:]

    # cloud-init, seeing a new instance id, configures the copy afresh.
    guest = library.reach(again["id"])
    assert guest.run("hostname").stdout.strip() == name
    assert guest.run("cat /etc/updraft-e2e").stdout == "written by cloud-init\n"
    library.cli("server", "delete", "--wait", again["id"])


def boot_recipe(library: Library, recipe: str, disk: int) -> tuple[dict[str, Any], SSHGuest]:
    """Builds `recipe`, publishes it and boots it on the module's network, configured by
    cloud-init with the module's key and user data; the server and SSH as `debian`."""
    cloud = library.cloud
    started = time.monotonic()
    built = subprocess.run([str(UPDRAFT_BIN), "image", "build", recipe], capture_output=True, text=True,
                           env=base_env(), timeout=7200)
    assert built.returncode == 0, built.stderr
    print(f"\n{recipe}: built (or found built) in {time.monotonic() - started:.1f} s")
    published = subprocess.run([str(UPDRAFT_BIN), "image", "publish", recipe, "--data-dir", str(cloud.data_dir)],
                               capture_output=True, text=True, env=base_env(), timeout=1800)
    assert published.returncode == 0, published.stderr
    flavor = cloud.openstack("flavor", "create", unique(recipe), "--ram", "2048", "--vcpus", "1", "--disk", str(disk))
    name = unique(recipe).replace("_", "-")
    started = time.monotonic()
    server = library.cli("server", "create", name, "--image", published.stdout.strip(), "--flavor", flavor["id"],
                         "--network", library.net["id"], "--security-group", library.group["id"],
                         "--key-name", library.keypair["name"], "--user-data", str(library.user_data))
    guest = library.reach(server["id"])
    print(f"{recipe}: created to SSH as debian in {time.monotonic() - started:.1f} s")
    assert_configured(guest, server, "DataSourceOpenStack")
    return server, guest


@slower_job
def test_the_science_image_runs_numpy_jupyter_and_r(library: Library) -> None:
    server, guest = boot_recipe(library, "debian-12-science", disk=8)
    one_liner = "import numpy, scipy, pandas, matplotlib; print(numpy.arange(6).reshape(2, 3).sum(axis=0).tolist())"
    ran = guest.run(f"python3 -c '{one_liner}'", timeout=120)
    assert ran.stdout.strip() == "[3, 5, 7]", ran.stdout + ran.stderr
    assert guest.run("jupyter-notebook --version").returncode == 0
    assert guest.run("R --version").stdout.startswith("R version")
    assert "jupyter-notebook --no-browser" in guest.run("systemctl cat jupyter").stdout
    library.cli("server", "delete", "--wait", server["id"])


@slower_job
def test_the_docker_image_runs_a_container_as_debian_without_sudo(library: Library) -> None:
    server, guest = boot_recipe(library, "debian-12-docker", disk=6)
    # The default user is in the docker group (the image's cloud-init default_user override).
    assert "docker" in guest.run("id -nG").stdout.split()
    assert guest.run("systemctl is-active docker", timeout=120).stdout.strip() == "active"
    # No registry is reachable from here: the container's image is imported from klibc's
    # programs in the guest itself, then run by `debian` without sudo.
    imported = guest.run("cd / && tar -c lib usr/lib/klibc usr/lib/klibc-*.so | docker import - updraft/klibc",
                         timeout=300)
    assert imported.returncode == 0, imported.stderr
    ran = guest.run("docker run --rm updraft/klibc /usr/lib/klibc/bin/uname -m", timeout=300)
    assert ran.stdout.strip() == "x86_64", ran.stdout + ran.stderr
    library.cli("server", "delete", "--wait", server["id"])


@slower_job
def test_a_volume_backed_servers_snapshot_is_quiesced_through_its_agent(library: Library) -> None:
    """The root volume's image metadata (`hw_qemu_guest_agent=yes`, copied from the image)
    gives the guest its agent, and a snapshot freezes the filesystems around the volume
    snapshots, as Nova's does."""
    root = library.cli("volume", "create", unique("deb-root"), "--image", library.image_id, "--size", "4",
                       "--bootable")
    wait_for("the root volume available",
             lambda: library.cli("volume", "show", root["id"])["status"] == "available", 600)
    name = unique("deb-bfv").replace("_", "-")
    server = library.cli("server", "create", name, "--volume", root["id"], "--flavor", library.flavor["id"],
                         "--network", library.net["id"], "--security-group", library.group["id"],
                         "--key-name", library.keypair["name"])
    guest = library.reach(server["id"])
    assert "status: done" in guest.run("cloud-init status --wait", timeout=600).stdout
    assert guest.run("systemctl is-active qemu-guest-agent").stdout.strip() == "active"
    snapshot = library.cli("server", "image", "create", "--name", unique("deb-bfv-snap"), "--wait", server["id"])
    frozen = [line for line in server_log(library.cloud).splitlines()
              if "guest filesystems frozen for a snapshot" in line and server["id"] in line]
    assert frozen, "no freeze logged for the volume-backed server"
    mapping = library.cli("image", "show", snapshot["id"])["properties"]["block_device_mapping"]
    library.cli("server", "delete", "--wait", server["id"])
    library.cli("image", "delete", snapshot["id"])
    for entry in json.loads(mapping):
        library.cli("volume", "snapshot", "delete", entry["snapshot_id"])
    # The volume goes once its snapshot has gone.
    wait_for("the root volume deleted", lambda: library.cloud.openstack(
        "volume", "delete", root["id"], env=library.env, check=False, json_output=False).returncode == 0, 120)

#!/usr/bin/env bash
# Runs tempest's identity API tests (tempest.api.identity) -- or, with TEMPEST_REGEX, others such as
# the Glance v2 image tests ('^tempest\.api\.image\.v2') or the compute tests, which boot the
# built-in guest image (`updraft image build tiny`) on real QEMU -- against a fresh `updraft serve`
# and prints the pass/fail/skip counts. Fails when a test fails that is not listed in
# known-failures.txt (features Updraft does not implement yet, each with its reason).
#
# With TEMPEST_LIST=FILE it runs the tests FILE lists instead (one regex a line), e.g. the OpenStack
# interop guideline's required compute tests (interop-2020.06-compute.lst, from shared/conformance).
#
# Env: UPDRAFT_BIN (.build/debug/updraft), UPDRAFT_VENV (virtualenv with tempest),
#      TEMPEST_REGEX (^tempest\.api\.identity), TEMPEST_LIST, TEMPEST_CONCURRENCY (2),
#      TEMPEST_EXTERNAL_CIDR (198.18.100.0/24; another for a second run on the same host)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${UPDRAFT_BIN:-$repo/.build/debug/updraft}
venv=${UPDRAFT_VENV:?set UPDRAFT_VENV to a virtualenv with tempest}
regex=${TEMPEST_REGEX:-^tempest\.api\.identity}
select=(--regex "$regex")
if [ -n "${TEMPEST_LIST:-}" ]; then select=(--include-list "$(readlink -f "$TEMPEST_LIST")"); fi
work=$(mktemp -d /tmp/updraft-tempest.XXXXXX)
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# Its external network on a CIDR of its own, so it never clashes with another cloud on the host.
"$bin" serve --data-dir "$work/data" --port "$port" --external-cidr "${TEMPEST_EXTERNAL_CIDR:-198.18.100.0/24}" >"$work/serve.log" 2>&1 &
pid=$!
cleanup() {
  # TEMPEST_OUTPUT=FILE keeps tempest's own output for reading failures afterwards.
  [ -n "${TEMPEST_OUTPUT:-}" ] && [ -f "$work/tempest.out" ] && cp "$work/tempest.out" "$TEMPEST_OUTPUT"
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  # Guests outlive `updraft serve` by design: end the ones this run's cloud left, by PID.
  for guest in $(pgrep -f -- "qemu-system.*$work/data/instances" || true); do kill -9 "$guest" 2>/dev/null || true; done
  # ... and remove the namespaces, bridges, nftables tables and dnsmasq its networking made.
  "$bin" admin remove-network --data-dir "$work/data" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/identity/v3" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.2
done
# shellcheck disable=SC1091
. "$work/data/admin-openrc.sh"
# The built-in guest image `updraft serve` registered (tests/e2e and test.sh build it first).
image_id=$("$venv/bin/openstack" image show updraft-tiny -f value -c id 2>/dev/null || true)
# A second image with another id, for the tests that rebuild onto a different image.
image_alt=$image_id
if [ -n "$image_id" ]; then
  tiny=$("$bin" image build tiny | head -n 1)
  image_alt=$("$venv/bin/openstack" image create --file "$tiny" --disk-format qcow2 --container-format bare --public \
    updraft-tiny-alt -f value -c id 2>/dev/null || echo "$image_id")
fi

# Neutron's tests (TEMPEST_NEUTRON=true) see the extensions the cloud lists and its external network.
neutron=${TEMPEST_NEUTRON:-false}
public_id=""
extensions=""
if [ "$neutron" = true ]; then
  public_id=$("$venv/bin/openstack" network show public -f value -c id)
  extensions=$("$venv/bin/openstack" extension list --network -f value -c Alias | paste -sd, -)
fi

mkdir -p "$work/ws/etc" "$work/ws/logs" "$work/ws/lock"
cat >"$work/ws/etc/tempest.conf" <<CONF
[DEFAULT]
log_dir = $work/ws/logs
log_file = tempest.log
[oslo_concurrency]
lock_path = $work/ws/lock
[auth]
admin_username = $OS_USERNAME
admin_password = $OS_PASSWORD
admin_project_name = $OS_PROJECT_NAME
admin_domain_name = Default
use_dynamic_credentials = true
[identity]
uri_v3 = $OS_AUTH_URL
auth_version = v3
region = $OS_REGION_NAME
v3_endpoint_type = public
[identity-feature-enabled]
api_v2 = false
api_v3 = true
# Extensions Updraft does not serve (OS-OAUTH1, OS-EP-FILTER) are left out.
api_extensions = OS-EC2,OS-REVOKE,OS-TRUST,OS-INHERIT
trust = true
access_rules = true
domain_specific_drivers = false
security_compliance = false
application_credentials = true
project_tags = true
[image]
catalog_type = image
endpoint_type = publicURL
region = $OS_REGION_NAME
image_caching_enabled = false
container_formats = bare,ami,ari,aki,ovf,ova
disk_formats = qcow2,raw,ami,ari,aki,vhd,vmdk,vdi,iso,vhdx
hashing_algorithm = sha512
[image-feature-enabled]
api_v2 = true
# Interoperable image import (/v2/images/{id}/import, staging), locations and the
# metadata definitions catalog are not served; uploads are the plain PUT .../file.
import_image = false
os_glance_reserved = true
manage_locations = false
image_conversion = false
image_format_enforcement = false
do_secure_hash = true
http_store_enabled = false
[compute]
image_ref = $image_id
image_ref_alt = $image_alt
flavor_ref = 42
flavor_ref_alt = 84
build_timeout = 300
min_microversion = 2.1
max_microversion = 2.49
[compute-feature-enabled]
resize = true
console_output = true
vnc_console = false
spice_console = false
serial_console = false
rescue = false
change_password = false
pause = true
suspend = true
shelve = true
snapshot = true
config_drive = true
metadata_service = false
personality = false
interface_attach = $neutron
live_migration = false
cold_migration = false
block_migration_for_live_migration = false
attach_encrypted_volume = false
enable_instance_password = true
[network]
public_network_id = $public_id
floating_network_name = public
project_network_cidr = 10.100.0.0/16
project_network_mask_bits = 28
project_networks_reachable = false
shared_physical_network = false
[network-feature-enabled]
ipv6 = false
api_extensions = $extensions
port_security = true
[validation]
# Scenario tests (TEMPEST_NEUTRON=true) log into guests through floating IPs; API tests do not.
run_validation = ${TEMPEST_VALIDATION:-false}
connect_method = floating
auth_method = keypair
image_ssh_user = updraft
image_alt_ssh_user = updraft
ssh_timeout = 300
ping_timeout = 120
network_for_ssh = public
[object-storage]
catalog_type = object-store
region = $OS_REGION_NAME
endpoint_type = public
operator_role = member
# Account quotas are set by a cloud administrator, who holds the admin role.
reseller_admin_role = admin
[object-storage-feature-enabled]
# What /info lists; container sync, FormPOST and static websites are not served yet.
discoverable_apis = slo,dlo,tempurl,formpost,staticweb,account_quotas,container_quotas,bulk_delete,bulk_upload
container_sync = false
object_versioning = true
discoverability = true
tempurl_digest_hashlib = sha256
[volume]
catalog_type = volumev3
endpoint_type = publicURL
region = $OS_REGION_NAME
build_timeout = 300
min_microversion = 3.0
max_microversion = 3.71
volume_size = 1
disk_format = raw,qcow2
storage_protocol = file
vendor_name = Updraft
backend_names = local
backup_driver = swift
[volume-feature-enabled]
# Volumes are qcow2 files on the host (snapshots, clones, extend while attached), backed up to
# object storage; manage/unmanage, multi-attach and consistency groups are not served.
snapshot = true
clone = true
backup = true
manage_snapshot = false
manage_volume = false
multi_backend = false
extend_attached_volume = true
extend_attached_encrypted_volume = false
volume_revert = false
cluster_active_active = false
api_extensions = os-availability-zone,os-extended-snapshot-attributes,os-hosts,os-quota-sets,os-services,os-vol-host-attr,os-vol-image-meta,os-vol-mig-status-attr,os-vol-tenant-attr,os-volume-actions,os-volume-type-access,scheduler-stats,capabilities,os-types-manage,os-types-extra-specs,backups,os-backup-project-attr
[service_available]
cinder = true
neutron = $neutron
glance = true
swift = true
nova = $( [ -n "$image_id" ] && echo true || echo false )
CONF

cd "$work/ws"
set +e
"$venv/bin/tempest" run --config-file "$work/ws/etc/tempest.conf" "${select[@]}" \
  --concurrency "${TEMPEST_CONCURRENCY:-2}" >"$work/tempest.out" 2>&1
set -e
grep -E '^(Ran|[ -]+(Passed|Skipped|Failed|Expected Fail|Unexpected Success)):' "$work/tempest.out" | sed 's/^ *- */  /'
# No failure at all is a grep that matches nothing: not an error under pipefail.
failed=$({ grep -E '^\{[0-9]+\} .* \.\.\. FAILED' "$work/tempest.out" || true; } | sed -E 's/^\{[0-9]+\} //; s/ \[.*//; s/ \.\.\. FAILED//' | sort -u)
unexpected=""
while IFS= read -r test; do
  [ -z "$test" ] && continue
  # One grep on the file (a comment never equals a test name): `grep | grep -q` under pipefail
  # fails when the first grep is cut off by the second's early exit (SIGPIPE).
  if ! grep -qxF -- "$test" "$here/known-failures.txt"; then unexpected+="$test"$'\n'; fi
done <<<"$failed"
if [ -n "$unexpected" ]; then
  echo "tempest: unexpected failures:"
  printf '%s' "$unexpected"
  grep -B2 -A40 'Captured traceback' "$work/tempest.out" | tail -n 200
  exit 1
fi
echo "tempest: no unexpected failures"

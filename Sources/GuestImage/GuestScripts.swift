extension GuestImage {
    /// The shell scripts the guest runs, as busybox `sh` reads them.
    enum GuestScripts {
        /// `/etc/init.d/rcS`, run once by busybox init: modules, config drive or metadata service,
        /// hostname, ssh keys, dropbear, acpid, the ready marker, then user_data.
        static let rcS = #"""
            #!/bin/sh
            # Updraft tiny guest: the whole boot, run once by busybox init (::sysinit).
            export PATH=/usr/sbin:/usr/bin:/sbin:/bin
            /bin/busybox --install -s
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev 2>/dev/null
            mkdir -p /dev/pts /run /tmp /mnt/config
            mount -t devpts devpts /dev/pts
            mount -t tmpfs -o mode=0755 tmpfs /run
            mount -t tmpfs -o mode=1777 tmpfs /tmp
            [ -e /var/run ] || { mkdir -p /var; ln -s /run /var/run; }
            say() { echo "updraft: $*"; }

            modprobe -a -q $(cat /etc/updraft/modules) 2>/dev/null

            # The config drive: ISO 9660 labelled config-2 on any virtio disk or CD. busybox-static has no
            # blkid, so read the primary volume descriptor: "CD001" at 32769, the volume id at 32808.
            iso_label() {
                [ "$(dd if="$1" bs=1 skip=32769 count=5 2>/dev/null)" = CD001 ] || return 1
                dd if="$1" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' \000'
            }
            meta=
            for dev in /dev/vd[a-z] /dev/sr[0-9]; do
                [ -b "$dev" ] || continue
                case "$(iso_label "$dev")" in
                config-2 | CONFIG-2)
                    if mount -t iso9660 -o ro "$dev" /mnt/config 2>/dev/null; then
                        say "config drive on $dev"
                        [ -f /mnt/config/openstack/latest/meta_data.json ] && meta=/mnt/config/openstack/latest
                        break
                    fi
                    ;;
                esac
            done

            # The first NIC gets DHCP on a short leash; without a NIC this costs nothing.
            ip link set lo up
            for nic in /sys/class/net/*; do
                nic=${nic##*/}
                [ "$nic" = lo ] && continue
                ip link set "$nic" up
                # Ask for classless routes (121, the metadata route) and the MTU: udhcpc does not by default.
                # It stays in the background to renew (SIGUSR1 renews at once), with cirros's pid file.
                if udhcpc -i "$nic" -n -t 3 -T 1 -A 1 -O staticroutes -O mtu -p "/var/run/udhcpc.$nic.pid" \
                    -s /usr/share/udhcpc/default.script >/dev/null 2>&1; then
                    say "$nic has $(ip -4 -o addr show dev "$nic" | awk '{print $4}')"
                fi
                break
            done

            # The metadata service, only when there is no config drive and DHCP gave a route.
            mkdir -p /run/updraft
            if [ -z "$meta" ] && ip route 2>/dev/null | grep -q .; then
                base=http://169.254.169.254/openstack/latest
                # timeout, not wget -T: Debian's busybox-static wget crashes with -T.
                if timeout 2 wget -q -O /run/updraft/meta_data.json "$base/meta_data.json" 2>/dev/null; then
                    say "metadata from $base"
                    timeout 2 wget -q -O /run/updraft/user_data "$base/user_data" 2>/dev/null \
                        || rm -f /run/updraft/user_data
                    meta=/run/updraft
                else
                    rm -f /run/updraft/meta_data.json
                fi
            fi

            # Nova writes meta_data.json as one flat object whose values here are one-line strings.
            json() { # json FILE KEY: the string value of the top-level "KEY"; nested objects are skipped
                tr '\n' ' ' <"$1" | awk -v key="$2" '{
                    s = substr($0, index($0, "{") + 1)
                    while (gsub(/\{[^{}]*\}/, "", s) || gsub(/\[[^][]*\]/, "", s)) {}
                    if (match(s, "\"" key "\"[[:space:]]*:[[:space:]]*\"[^\"]*\"")) {
                        v = substr(s, RSTART, RLENGTH)
                        sub(/^"[^"]*"[[:space:]]*:[[:space:]]*"/, "", v); sub(/"$/, "", v)
                        print v
                    }
                }' | sed 's#\\/#/#g'
            }
            public_keys() { # every value of "public_keys": {...}; else every "data" of "keys": [...]
                tr '\n' ' ' <"$1" | awk '{
                    n = 0
                    if (match($0, /"public_keys"[[:space:]]*:[[:space:]]*\{[^}]*\}/)) {
                        o = substr($0, RSTART, RLENGTH)
                        sub(/^"public_keys"[[:space:]]*:[[:space:]]*\{/, "", o)
                        while (match(o, /"[^"]*"[[:space:]]*:[[:space:]]*"[^"]*"/)) {
                            kv = substr(o, RSTART, RLENGTH); o = substr(o, RSTART + RLENGTH)
                            sub(/^"[^"]*"[[:space:]]*:[[:space:]]*"/, "", kv); sub(/"$/, "", kv)
                            print kv; n++
                        }
                    }
                    if (n == 0 && match($0, /"keys"[[:space:]]*:[[:space:]]*\[[^]]*\]/)) {
                        o = substr($0, RSTART, RLENGTH)
                        while (match(o, /"data"[[:space:]]*:[[:space:]]*"[^"]*"/)) {
                            kv = substr(o, RSTART, RLENGTH); o = substr(o, RSTART + RLENGTH)
                            sub(/^"data"[[:space:]]*:[[:space:]]*"/, "", kv); sub(/"$/, "", kv)
                            print kv
                        }
                    }
                }' | sed -e 's#\\/#/#g' -e 's/\\n$//' | grep -v '^[[:space:]]*$'
            }

            id=
            name=
            if [ -n "$meta" ]; then
                id=$(json "$meta/meta_data.json" uuid)
                name=$(json "$meta/meta_data.json" hostname)
                [ -n "$name" ] || name=$(json "$meta/meta_data.json" name)
            fi
            [ -n "$id" ] || id=$(cat /sys/class/dmi/id/product_serial 2>/dev/null)
            [ -n "$id" ] || id=unknown
            [ -n "$name" ] || name=updraft-${id%%-*}
            hostname "$name"
            echo "$name" >/etc/hostname
            echo "127.0.1.1 $name" >>/etc/hosts

            # updraft shares uid 0 with root (busybox has no sudo); both get the same keys.
            : >/run/updraft/authorized_keys
            [ -n "$meta" ] && public_keys "$meta/meta_data.json" >/run/updraft/authorized_keys
            count=$(grep -c . /run/updraft/authorized_keys)
            for home in /root /home/updraft; do
                mkdir -p "$home/.ssh"
                cp /run/updraft/authorized_keys "$home/.ssh/authorized_keys"
                chmod 0700 "$home/.ssh"
                chmod 0600 "$home/.ssh/authorized_keys"
            done
            say "installed $count ssh keys"

            # Host keys are made on first use (-R); no password logins at all (-s).
            mkdir -p /etc/dropbear
            dropbear -R -s -p 22 -P /run/dropbear.pid && say "dropbear listening on port 22"

            # The ACPI power button (QMP system_powerdown) runs /etc/acpi/PWRF/00000080.
            acpid -c /etc/acpi -l /run/acpid.log

            echo "UPDRAFT-GUEST-READY instance-id=$id"

            if [ -n "$meta" ] && [ -f "$meta/user_data" ] && [ "$(head -c 2 "$meta/user_data")" = "#!" ]; then
                cp "$meta/user_data" /run/updraft/user_data.run
                chmod 0700 /run/updraft/user_data.run
                /run/updraft/user_data.run
                say "user_data exit $?"
            fi

            """#

        /// `/usr/share/udhcpc/default.script`: apply a lease (address, routes, resolver).
        static let udhcpc = #"""
            #!/bin/sh
            # udhcpc hook: configure the interface, routes and resolver from the lease.
            case "$1" in
            deconfig)
                ip -4 addr flush dev "$interface"
                ip link set "$interface" up
                ;;
            bound | renew)
                ip -4 addr flush dev "$interface"
                ip -4 addr add "$ip/${mask:-24}" dev "$interface"
                [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
                set -- $staticroutes
                while [ $# -ge 2 ]; do
                    ip -4 route add "$1" via "$2" dev "$interface"
                    shift 2
                done
                for r in $router; do
                    ip -4 route add default via "$r" dev "$interface"
                    break
                done
                : >/etc/resolv.conf
                [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
                for s in $dns; do echo "nameserver $s" >>/etc/resolv.conf; done
                ;;
            esac
            exit 0

            """#

        /// `/usr/bin/sudo`: every login is uid 0 already (`updraft` is root's second name), so
        /// clients that prefix commands with sudo (tempest's scenarios) just run them.
        static let sudo = #"""
            #!/bin/sh
            exec "$@"

            """#

        /// `/etc/acpi/PWRF/00000080`: busybox acpid runs it for the power button.
        static let powerButton = #"""
            #!/bin/sh
            echo "updraft: powering off" >/dev/console
            exec poweroff

            """#
    }
}

#!/usr/bin/env bash
# Installs the Debian packages Portcullis, its demo lab and its tests need. Idempotent: it only
# calls apt-get when something is missing. Run as root on Debian 12.
set -euo pipefail

PACKAGES=(
  # gateway runtime
  openssl ca-certificates
  # display recordings exported to MP4 (administrators, in the background)
  ffmpeg
  # demo lab targets (lab/): sshd, telnetd, a VNC desktop, an RDP server with NLA
  # (inetutils-telnetd pulls in an inetd whose telnet entry stays disabled: the lab runs telnetd
  # itself behind socat; fonts-dejavu-core is the font of the desktops' text panels)
  openssh-server busybox inetutils-telnetd socat tigervnc-standalone-server tigervnc-tools
  freerdp2-x11 freerdp2-shadow-x11 winpr-utils xvfb x11-apps x11-xserver-utils xterm xdotool xclip xrdp xorgxrdp
  # tests: a throwaway PostgreSQL cluster, a real browser, a throwaway OpenLDAP directory
  postgresql chromium fonts-dejavu-core slapd ldap-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system-deps: all ${#PACKAGES[@]} Debian packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing packages: ${missing[*]}" >&2
  echo "system-deps: run as root, or: apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Never start the distribution's own services: the lab and the tests run their own instances.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: done"

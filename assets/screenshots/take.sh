#!/usr/bin/env bash
# Retakes the window's screenshots under Xvfb (Linux, as root or any user): every tab at
# 800x600, 1024x720 and 1280x800, dark and light, with a held port, a long-named holder, a
# history of checks from an earlier run and the live table. Usage (from the repository):
#   cargo build --release && bash assets/screenshots/take.sh
# Needs Xvfb, ImageMagick's `import` and python3 (for the holders).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/target/release/port-inspector}
OUT=assets/screenshots
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
# A holder with a long name and command line (argv[0]), and a second one with three sockets.
python3 - "$work/port" <<'PY' &
import os, sys, time
code = """
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 0))
open(sys.argv[1], 'w').write(str(s.getsockname()[1]))
time.sleep(3600)
"""
os.execv(sys.executable, ["/opt/payments/bin/settlement-gateway-worker", "-c", code, sys.argv[1],
          "--config=/etc/payments/settlement-gateway/production.toml", "--workers=8"])
PY
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
python3 -c "
import socket, time
l = [socket.socket() for _ in range(3)]
for s in l: s.bind(('127.0.0.1', 0)); s.listen()
time.sleep(3600)" &
for theme in Dark Light; do
  for size in 800x600 1024x720 1280x800; do
    for tab in ${TABS:-Check Scan Kit Listening}; do
      home=$work/home-$theme-$size-$tab
      mkdir -p "$home/.local/share/port-inspector"
      chmod 700 "$home/.local/share/port-inspector"
      w=${size%x*}; h=${size#*x}
      cat > "$home/.local/share/port-inspector/app.ron" <<RON
{
  "port-inspector-state": "(tab: $tab, theme: $theme, scan: (range_text: \"$((port-20))-$((port+20))\"), history: [(at: \"2026-12-05 22:14:03 UTC\", target: (host: \"0.0.0.0\", port: 5432, protocol: tcp, family: any, options: (reuse_address: true, reuse_port: false, v6_only: None, exclusive_address_use: false, listen: true, backlog: 128)), verdict: not_bindable), (at: \"2026-12-05 22:15:40 UTC\", target: (host: \"\", port: 8443, protocol: udp, family: any, options: (reuse_address: false, reuse_port: false, v6_only: None, exclusive_address_use: false, listen: true, backlog: 128)), verdict: bindable)])",
  "port-inspector-window": "(width: $w, height: $h)"
}
RON
      n=$((200 + RANDOM % 500))
      Xvfb ":$n" -screen 0 "${size}x24" -nolisten tcp -noreset >/dev/null 2>&1 & xp=$!
      for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
      args=(window)
      [ "$tab" = Check ] && args+=("127.0.0.1:$port")
      HOME=$home DISPLAY=":$n" "$BIN" "${args[@]}" >/dev/null 2>&1 & ap=$!
      sleep 5
      name=$(echo "$tab" | tr 'A-Z' 'a-z'); [ "$name" = listening ] || true
      DISPLAY=":$n" import -window root "$OUT/$name-$size-$(echo $theme | tr 'A-Z' 'a-z').png"
      kill $ap; wait $ap 2>/dev/null || true
      kill $xp; wait $xp 2>/dev/null || true
    done
  done
done
echo "screenshots in $OUT"

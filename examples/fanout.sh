#!/bin/sh
# Check the same port on many machines over SSH and print one line per host.
#
#   examples/fanout.sh HOSTS_FILE [HOST:]PORT [check options...]
#
# HOSTS_FILE has one host per line (blank lines and # comments are skipped). Each host runs
# `port-inspector check TARGET --json`; this script needs nothing but sh, ssh and sed.
# Environment:
#   SSH  how to reach a host     (default: ssh -o BatchMode=yes -o ConnectTimeout=5)
#   PI   port-inspector command  (default: port-inspector, as installed on the hosts)
#   JOBS hosts checked at once   (default: 16)
# Exit status: 0 when every host can bind, 1 when some cannot, 2 when some were unreachable.
set -u

if [ $# -lt 2 ]; then
  echo "usage: $0 HOSTS_FILE [HOST:]PORT [check options...]" >&2
  exit 2
fi
hosts_file=$1
shift
target=$1
shift
SSH=${SSH:-ssh -o BatchMode=yes -o ConnectTimeout=5}
PI=${PI:-port-inspector}
JOBS=${JOBS:-16}

work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

hosts=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$hosts_file" | grep -v '^$')
n=0
running=0
for host in $hosts; do
  n=$((n + 1))
  (
    # shellcheck disable=SC2086 # SSH and the options are meant to split into words
    $SSH "$host" "$PI check $target --json $*" > "$work/$n.json" 2> "$work/$n.err" < /dev/null
    echo $? > "$work/$n.rc"
  ) &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait
    running=0
  fi
done
wait

field() { # first "name": value in a JSON file, quotes removed
  sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2" | head -n 1
}

ok=0
bad=0
down=0
i=0
for host in $hosts; do
  i=$((i + 1))
  rc=$(cat "$work/$i.rc" 2>/dev/null || echo 255)
  case $rc in
    0)
      ok=$((ok + 1))
      printf '%-24s bindable\n' "$host"
      ;;
    1)
      bad=$((bad + 1))
      wsa=$(field wsa_name "$work/$i.json")
      code=$(field wsa_code "$work/$i.json")
      proc=$(field process "$work/$i.json")
      pid=$(field pid "$work/$i.json")
      who=""
      [ -n "$pid" ] && [ "$pid" != "null" ] && who="  held by $proc (PID $pid)"
      printf '%-24s NOT BINDABLE  %s %s%s\n' "$host" "$wsa" "$code" "$who"
      ;;
    *)
      down=$((down + 1))
      printf '%-24s UNREACHABLE (exit %s): %s\n' "$host" "$rc" "$(head -n 1 "$work/$i.err")"
      ;;
  esac
done
printf '%d of %d hosts can bind %s (%d cannot, %d unreachable)\n' "$ok" "$n" "$target" "$bad" "$down"
[ "$down" -gt 0 ] && exit 2
[ "$bad" -gt 0 ] && exit 1
exit 0

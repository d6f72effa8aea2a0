#!/bin/sh
# Rebuilds bpf/bind.bpf.o from bpf/bind.bpf.c (needs clang and libbpf-dev; Debian 12's clang 14
# made the committed object). `bpf/build.sh --check` rebuilds into a temporary file and fails if
# it differs from the committed one (CI runs this).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/bind.bpf.o"
[ "${1:-}" = "--check" ] && out=$(mktemp)
# -g makes the BTF aya reads the maps from; compiled from inside bpf/ with a relative name and
# the folder mapped away, so no path of this checkout ends up in the object.
(cd "$here" && clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu \
    -fdebug-prefix-map="$here"=. -fdebug-compilation-dir=. \
    -c bind.bpf.c -o "$out")
# No build paths or times inside: strip what clang may add, so the bytes are reproducible.
llvm-strip -g "$out" 2>/dev/null || true
if [ "${1:-}" = "--check" ]; then
    if cmp -s "$out" "$here/bind.bpf.o"; then
        echo "bpf/bind.bpf.o matches its source"
        rm -f "$out"
    else
        echo "bpf/bind.bpf.o does not match bpf/bind.bpf.c: run bpf/build.sh and commit" >&2
        rm -f "$out"
        exit 1
    fi
fi

#!/usr/bin/env bash
# Installs the built project into a temp prefix, builds sdk/examples/hello against it with
# find_package(certhook-sdk) exactly as a third party would, and loads the result through the
# installed certhook-plugin-host (describe, then a deploy that writes a marker file).
#   sdk_out_of_tree.sh BUILD_DIR EXAMPLE_DIR CMAKE
set -euo pipefail
build="$1" example="$2" cmake="${3:-cmake}"
work="$(mktemp -d /tmp/chsdk.XXXXXX)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
test -f "$prefix/include/certhook/plugin.h"
test -f "$prefix/include/certhook/plugin.hpp"
host="$prefix/libexec/certhook/certhook-plugin-host"
test -x "$host" || { echo "no installed plugin host at $host"; exit 1; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
"$cmake" -S "$example" -B "$work/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_INSTALL_PREFIX="$work/plugin-prefix" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
plugin="$work/build/hello.so"
test -f "$plugin" || { echo "hello.so not built (expected no lib prefix)"; ls "$work/build"; exit 1; }

# Only the entry symbol is exported (hidden visibility).
exported="$(nm -D --defined-only "$plugin" | awk '$2 ~ /^[TDBRWVu]$/ {print $3}' | sort | tr '\n' ' ')"
[ "$exported" = "certhook_plugin_entry " ] || { echo "unexpected exported symbols: $exported"; exit 1; }

describe="$("$host" describe "$plugin")"
echo "$describe" | grep -q '"name":"hello"' || { echo "describe: $describe"; exit 1; }
echo "$describe" | grep -q '"abi":"1.0"' || { echo "describe: $describe"; exit 1; }

mkdir "$work/out"
cat >"$work/request.json" <<JSON
{"hook":"hello-hook","options":{"dir":"$work/out","greeting":"hello"},"attempt":1,"dry_run":false,
 "certificates":[{"name":"example.com","domains":["example.com"],"fingerprint":"abcd"}]}
JSON
"$host" call "$plugin" deploy "$work/request.json" "$work/result.json"
[ "$(cat "$work/out/example.com.hello")" = "hello abcd" ] || { echo "marker: $(cat "$work/out/example.com.hello")"; exit 1; }

# INSTALL puts it in <prefix>/lib*/certhook/plugins.
"$cmake" --install "$work/build" >/dev/null
test -f "$work/plugin-prefix/lib/certhook/plugins/hello.so"
echo "out-of-tree SDK build OK: $plugin"

#!/usr/bin/env bash
# The SDK example end to end, as a third party and an operator would do it: install certhook into
# a temp prefix (first-party plugins must land in <prefix>/lib/certhook/plugins), build
# sdk/examples/hello out of tree against it, `certhook plugin install` it, see it in `plugin list`
# and `plugin info`, deploy through `certhook run`; then modify its bytes: `run` and `check` refuse
# it and `plugin verify` exits 1.
#   hello_out_of_tree.sh BUILD_DIR EXAMPLE_DIR CMAKE
set -euo pipefail
build="$1" example="$2" cmake="${3:-cmake}"
work="$(mktemp -d /tmp/che2e.XXXXXX)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
prefix="$work/prefix"
unset CERTHOOK_PLUGIN_HOST CERTHOOK_CONFIG
fail() { echo "FAIL: $*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
for p in nginx apache haproxy webhook; do
  test -f "$prefix/lib/certhook/plugins/$p.so" || fail "$p.so not installed in $prefix/lib/certhook/plugins"
done
if ls -d "$prefix"/lib/*/certhook 2>/dev/null | grep -v "^$prefix/lib/certhook$"; then
  fail "plugins installed under a multiarch lib dir"
fi
certhook="$prefix/bin/certhook"
test -x "$certhook" || fail "no installed certhook at $certhook"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
"$cmake" -S "$example" -B "$work/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
test -f "$work/build/hello.so" || fail "hello.so not built"

# A path-source lineage (self-signed is enough for hooks without verify).
lineage() {  # lineage DIR CN
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/privkey.pem" \
    -out "$1/cert.pem" -days 30 -subj "/CN=$2" -addext "subjectAltName=DNS:$2" 2>/dev/null
  chmod 600 "$1/privkey.pem"
}
fingerprint() { openssl x509 -in "$1/cert.pem" -outform DER | sha256sum | cut -d' ' -f1; }
lineage "$work/src/hello.test" hello.test
mkdir -p "$work/out"
cat >"$work/certhook.toml" <<TOML
[certhook]
state_dir = "state"
plugin_dirs = ["plugins"]
hooks_dir = "hooks.d"

[[hook]]
name = "say-hello"
type = "hello"
[hook.options]
dir = "$work/out"
greeting = "hi"

[[certificate]]
name = "hello.test"
source = "$work/src/hello.test"
hooks = ["say-hello"]
TOML
ch() { "$certhook" --config "$work/certhook.toml" "$@"; }

out="$(ch plugin install "$work/build/hello.so")" || fail "plugin install: $out"
echo "$out" | grep -q "installed hello 1.0.0 as $work/plugins/hello.so" || fail "plugin install said: $out"
out="$(ch plugin list)" || fail "plugin list: $out"
echo "$out" | grep -Eq "^hello +1\.0\.0 +1\.0 +pinned +$work/plugins/hello.so$" || fail "plugin list: $out"
out="$(ch plugin info hello)" || fail "plugin info: $out"
echo "$out" | grep -q "hello 1.0.0 — writes <dir>/<certificate>.hello per certificate" || fail "plugin info: $out"
echo "$out" | grep -Eq "^dir +path +yes" || fail "plugin info: $out"
echo "$out" | grep -Eq "^greeting +string +no +\"hello\"" || fail "plugin info: $out"
out="$(ch check 2>&1)" || fail "check: $out"

out="$(ch run 2>&1)" || fail "run: $out"
echo "$out" | grep -q "deployed: hello.test: say-hello" || fail "run: $out"
fp="$(fingerprint "$work/src/hello.test")"
[ "$(cat "$work/out/hello.test.hello")" = "hi $fp" ] || fail "marker: $(cat "$work/out/hello.test.hello")"
ch plugin verify >/dev/null || fail "plugin verify before tampering"

# Tamper with the installed plugin, and give run something to deploy.
printf 'X' >>"$work/plugins/hello.so"
lineage "$work/src/hello.test" hello.test
status=0; out="$(ch run 2>&1)" || status=$?
[ "$status" = 1 ] || fail "run with a modified plugin exited $status: $out"
echo "$out" | grep -q "hello.so: changed since it was pinned" || fail "run: $out"
echo "$out" | grep -q "failed: hello.test: say-hello" || fail "run: $out"
[ "$(cat "$work/out/hello.test.hello")" = "hi $fp" ] || fail "a modified plugin ran: $(cat "$work/out/hello.test.hello")"
status=0; out="$(ch check 2>&1)" || status=$?
[ "$status" = 2 ] || fail "check with a modified plugin exited $status: $out"
echo "$out" | grep -q "hello.so: changed since it was pinned" || fail "check: $out"
status=0; out="$(ch plugin verify 2>&1)" || status=$?
[ "$status" = 1 ] || fail "plugin verify exited $status: $out"
echo "$out" | grep -q "hello.so" || fail "plugin verify: $out"
echo "e2e hello out of tree OK"

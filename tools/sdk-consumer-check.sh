#!/usr/bin/env bash
# sdk-consumer-check: what a Go service gets when it uses idvbus's subscriber
# SDK (issue 11). It fails when
#   - the README's subscriber example is not examples/subscribe/main.go as it is,
#   - sdk/go.mod or sdk/go.sum is not tidy,
#   - a fresh module that requires only github.com/idvbus/idvbus/sdk (replaced
#     by this repository's sdk/) cannot build that example, or
#   - that module's graph (go list -m all) holds a server dependency: the idvbus
#     server module, nats-server, zap, prometheus, OpenTelemetry,
#     testcontainers, goleak, a YAML package or the CloudEvents SDK.
# Run by `make sdk-check` and by .ci/run. Needs the Go module proxy (or a
# module cache holding nats.go) for the fresh module.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
GO=${GO:-go}
export GOWORK=off # the fresh module must stand alone

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The README's example: the Go block between the two markers.
awk '/<!-- subscriber example: examples\/subscribe\/main.go -->/ {on = 1; next}
     /<!-- end of subscriber example -->/ {on = 0}
     on && !/^```/' README.md > "$tmp/main.go"
if [ ! -s "$tmp/main.go" ]; then
  echo "sdk-check: README.md has no subscriber example between its markers"; exit 1
fi
if ! diff -u examples/subscribe/main.go "$tmp/main.go" > "$tmp/readme.diff"; then
  echo "sdk-check: README.md's subscriber example differs from examples/subscribe/main.go:"
  cat "$tmp/readme.diff"; exit 1
fi

(cd sdk && "$GO" mod tidy -diff) > "$tmp/tidy.diff" 2>&1 || {
  echo "sdk-check: sdk/go.mod is not tidy (run: cd sdk && go mod tidy):"; cat "$tmp/tidy.diff"; exit 1
}

goversion=$(awk '$1 == "go" {print $2; exit}' sdk/go.mod)
cat > "$tmp/go.mod" <<MOD
module example.com/idvbus-consumer

go $goversion

require github.com/idvbus/idvbus/sdk v0.0.0

replace github.com/idvbus/idvbus/sdk => $root/sdk
MOD
(cd "$tmp" && "$GO" mod tidy && "$GO" build -o /dev/null . && "$GO" list -m all > modules.txt) || {
  echo "sdk-check: a module requiring only the SDK does not build the README's example"; exit 1
}

forbidden='^github\.com/idvbus/idvbus( |$)|nats-server|go\.uber\.org/zap|prometheus|opentelemetry|testcontainers|goleak|yaml|cloudevents'
if grep -E "$forbidden" "$tmp/modules.txt" > "$tmp/bad.txt"; then
  echo "sdk-check: the SDK brings server dependencies into its consumers' module graph:"
  cat "$tmp/bad.txt"; exit 1
fi
echo "sdk-check: ok: the README's example builds with only the SDK; its module graph has $(wc -l < "$tmp/modules.txt") modules:"
sed 's/^/  /' "$tmp/modules.txt"

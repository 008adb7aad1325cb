#!/usr/bin/env bash
# The demo: on a fresh Debian 12 it installs what it needs (scripts/setup-deps.sh), builds the
# release tree in build/, starts moto_server (tests/moto_launcher.py) on 127.0.0.1, seeds an
# estate of 2 accounts, 4 regions and 12 buckets (examples/demo/seed_estate.py), and runs the
# `s3insights` runner: `init`, then `run` with a list snapshot. It prints the status table,
# the e-mail and where the data went, then stops the server. S3I_DEMO_SCALE sets the objects
# in a typical bucket (200).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-deps.sh
PYTHON=$(command -v python3)

mkdir -p build
if ! cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython3_EXECUTABLE="$PYTHON" \
	-DS3I_BUILD_EXAMPLES=ON >build/configure.log 2>&1; then
	tail -n 40 build/configure.log >&2
	exit 1
fi
echo "demo: building in build/ (log: build/build.log)" >&2
if ! cmake --build build -j "${S3I_JOBS:-$(nproc 2>/dev/null || echo 2)}" >build/build.log 2>&1; then
	grep -E -B2 -A6 'error|Error' build/build.log | tail -n 60 >&2
	echo "demo: the build failed; see build/build.log" >&2
	exit 1
fi

runner=build/examples/runner/s3insights
if [[ ! -x $runner ]]; then
	echo "demo: $runner was not built" >&2
	exit 1
fi

# moto_server on a free loopback port, stopped however the demo ends.
work=$(mktemp -d "${TMPDIR:-/tmp}/s3i-demo.XXXXXX")
"$PYTHON" tests/moto_launcher.py -p 0 --port-file "$work/port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null; wait "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
	[[ -s $work/port ]] && break
	kill -0 "$moto_pid" 2>/dev/null || { cat "$work/moto.log" >&2; exit 1; }
	sleep 0.1
done
port=$(cat "$work/port")
endpoint=http://127.0.0.1:$port
echo "demo: moto_server is listening on $endpoint" >&2

# Only the local endpoint and dummy keys: nothing here can reach AWS.
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
export AWS_EC2_METADATA_DISABLED=true S3I_DEPLOYMENT=demo
run_id=${S3I_DEMO_RUN_ID:-demo1}

echo "demo: seeding an estate (2 accounts, 4 regions, 12 buckets)" >&2
"$PYTHON" examples/demo/seed_estate.py --endpoint "$endpoint" --deployment demo \
	--run-id "$run_id" --scale "${S3I_DEMO_SCALE:-200}" --input "$work/input.json"
echo "demo: the run input ($work/input.json):" >&2
sed 's/^/  /' "$work/input.json" >&2

echo >&2
echo "\$ s3insights init" >&2
"$runner" init
echo >&2
echo "\$ s3insights run input.json" >&2
"$runner" run "$work/input.json"
bucket=$("$runner" --json init | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["consolidated_bucket"])')
"$PYTHON" examples/demo/show_outputs.py --endpoint "$endpoint" --bucket "$bucket" --run-id "$run_id"
echo >&2
echo "demo: done; moto_server stops now (everything above lived only in it)" >&2

#!/usr/bin/env bash
# The demo: on a fresh Debian 12 it installs what it needs (scripts/setup-deps.sh), builds the
# release tree in build/ and runs build/examples/s3i_demo, which starts its own moto_server
# (tests/moto_launcher.py) on 127.0.0.1 and works against it. Arguments are
# passed to s3i_demo.
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

demo=build/examples/s3i_demo
if [[ ! -x $demo ]]; then
	echo "demo: $demo was not built (examples/s3i_demo.c is not in this tree yet)" >&2
	exit 1
fi
# The demo runs tests/moto_launcher.py with this interpreter.
export S3I_PYTHON="$PYTHON"
exec "$demo" "$@"

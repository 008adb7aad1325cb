#!/bin/sh
# The configure stage on many buckets against moto (docs/performance.md, "Configure
# inventory").
#
# Builds bench_configure when needed, starts tests/moto_launcher.py on a free loopback port,
# runs bench_configure (BUCKETS buckets over 2 accounts and 3 regions, one run per concurrency
# in CONCURRENCY) and prints its lines with a header. moto answers every request in Python on
# the same machine, so the wall time and requests/s measure moto as much as the client; the
# client's own CPU per bucket is the figure that belongs to the library.
#
# Environment: BUILD_DIR (default <repo>/build-configure-bench), BUCKETS (2000), CONCURRENCY
# (1,8,32), PYTHON (python3).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-configure-bench}
buckets=${BUCKETS:-2000}
conc=${CONCURRENCY:-1,8,32}
python=${PYTHON:-python3}
bin=$build/bench/configure

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3I_BUILD_EXAMPLES=OFF \
		-DS3I_BUILD_TESTS=OFF -DS3I_BUILD_BENCH=ON -DS3I_ENABLE_INTEGRATION_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target bench_configure -j2 >/dev/null 2>&1

tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

(cd "$tmp" && exec "$python" "$root/tests/moto_launcher.py" -H 127.0.0.1 -p 0 \
	--port-file "$tmp/port" >"$tmp/server.log" 2>&1) &
server_pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	if [ "$i" -gt 300 ] || ! kill -0 "$server_pid" 2>/dev/null; then
		echo "moto_launcher did not start:" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
url="http://127.0.0.1:$(cat "$tmp/port")"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "Configure inventory: $buckets buckets (2 accounts, 3 regions) against moto"
echo "($(nproc 2>/dev/null || echo '?') CPUs ${cpu:+"$cpu"}; $(curl --version 2>/dev/null | head -1 | cut -d' ' -f1-2);" \
	"moto $("$python" -c 'import moto; print(moto.__version__)' 2>/dev/null || echo '?');" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '%-14s %8s %10s %10s %12s %16s\n' concurrency buckets seconds buckets/s requests/s "CPU us/bucket"
AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_PROFILE= \
	"$bin/bench_configure" "$url" "$buckets" "$conc" >"$tmp/out" 2>"$tmp/bench.log" || status=$?
awk -F'\t' '{ printf "%-14s %8d %10.2f %10.1f %12.1f %16.1f\n", substr($1, 2), $2, $3, $4, $5, $6 }' "$tmp/out"
sed 's/^/bench: /' "$tmp/bench.log"
exit "${status:-0}"

#!/bin/sh
# List snapshot against boto3 on the same loopback S3 server (docs/performance.md,
# "List snapshot").
#
# Builds bench_snapshot and list_server when needed, starts the server on a free port, then
# runs in alternating rounds, for each bucket size: bench_snapshot (s3i_snapshot_list into the
# report writer, the code configure runs per bucket) and boto3_snapshot.py (boto3's
# ListObjectsV2 paginator writing the same CSV report), one process per bucket so the peak RSS
# is that bucket's. It prints the median objects/s, client CPU per object and peak RSS of each,
# the median of the per-round speed ratios, and PASS/FAIL for "the library's peak RSS does not
# grow with the bucket size" (largest vs smallest bucket within 10% + 1 MiB).
# Exit status 1 on a FAIL.
#
# Environment: BUILD_DIR (default <repo>/build-snapshot-bench), ROUNDS (3), SIZES
# ("20000 200000"), FILE_BYTES (4194304: CSV bytes per data file, below the smallest bucket's
# so both sizes write several files), PYTHON (python3), BOTO3 (1; 0 skips boto3).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-snapshot-bench}
rounds=${ROUNDS:-3}
sizes=${SIZES:-20000 200000}
file_bytes=${FILE_BYTES:-4194304}
python=${PYTHON:-python3}
boto3=${BOTO3:-1}
bin=$build/bench/snapshot

if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3I_BUILD_EXAMPLES=OFF \
		-DS3I_BUILD_TESTS=OFF -DS3I_BUILD_BENCH=ON -DS3I_ENABLE_INTEGRATION_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target bench_snapshot list_server -j2 >/dev/null

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

"$bin/list_server" --port-file "$tmp/port" >/dev/null 2>"$tmp/server.log" &
server_pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
		echo "list_server did not start:" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	sleep 0.05
done
url="http://127.0.0.1:$(cat "$tmp/port")"

r=1
while [ "$r" -le "$rounds" ]; do
	for n in $sizes; do
		"$bin/bench_snapshot" "$url" "$n" "$file_bytes" | sed "s/^/$r\t/" >>"$tmp/runs"
		if [ "$boto3" = 1 ]; then
			"$python" "$here/boto3_snapshot.py" "$url" "$n" "$file_bytes" | sed "s/^/$r\t/" >>"$tmp/runs"
		fi
	done
	r=$((r + 1))
done
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "List snapshot (ListObjectsV2 -> S3 Inventory CSV report), data files of $file_bytes CSV bytes,"
echo "median of $rounds alternating rounds"
echo "($(nproc 2>/dev/null || echo '?') CPUs ${cpu:+"$cpu"}; $(curl --version 2>/dev/null | head -1 | cut -d' ' -f1-2);" \
	"boto3 $("$python" -c 'import boto3; print(boto3.__version__)' 2>/dev/null || echo '?')," \
	"$("$python" --version 2>&1); load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo

# runs: round, client, objects, seconds, objects/s, CPU us/object, peak RSS KiB, data files
awk -F'\t' '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	k = $2 SUBSEP $3
	ops[k] = ops[k] " " $5; cpu[k] = cpu[k] " " $6; rss[k] = rss[k] " " $7; files[k] = $8
	t[$1, $2, $3] = $5; last = $1
	if (!($3 in seen)) { seen[$3] = 1; order[++nsizes] = $3 }
	if ($2 == "boto3") have_boto3 = 1
}
END {
	printf "%-16s %10s %12s %16s %14s %6s\n", "client", "objects", "objects/s", "CPU us/object", "peak RSS MiB", "files"
	for (s = 1; s <= nsizes; s++) {
		n = order[s]
		for (c = 1; c <= 2; c++) {
			cl = c == 1 ? "c" : "boto3"
			if (cl == "boto3" && !have_boto3) continue
			k = cl SUBSEP n
			printf "%-16s %10d %12.0f %16.2f %14.1f %6d\n", cl == "c" ? "libs3insights" : "boto3",
				n, median(ops[k]), median(cpu[k]), median(rss[k]) / 1024, files[k]
		}
	}
	print ""
	if (have_boto3)
		for (s = 1; s <= nsizes; s++) {
			n = order[s]; ratios = ""
			for (r = 1; r <= last; r++) ratios = ratios " " t[r, "c", n] / t[r, "boto3", n]
			printf "objects/s libs3insights / boto3, %d objects: %.1fx (median of per-round ratios)\n", n, median(ratios)
		}
	small = median(rss["c" SUBSEP order[1]]); big = median(rss["c" SUBSEP order[nsizes]])
	res = big <= small * 1.1 + 1024 ? "PASS" : "FAIL"
	printf "peak RSS libs3insights, %d vs %d objects: %.1f vs %.1f MiB  %s\n", order[nsizes], order[1],
		big / 1024, small / 1024, res
	exit res == "FAIL" ? 1 : 0
}' "$tmp/runs" || status=$?
echo
sed 's/^/server: /' "$tmp/server.log"
exit "${status:-0}"

#!/bin/sh
# Compile every public header on its own, as strict C11 and as C++ (STYLE R15).
set -eu
inc=$1 cc=$2 cxx=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
for h in $(cd "$inc" && find s3insights -name '*.h' | sort); do
	printf '#include <%s>\nint s3i_header_test_dummy;\n' "$h" >"$tmp/t.c"
	cp "$tmp/t.c" "$tmp/t.cpp"
	if ! "$cc" -std=c11 -Wall -Wextra -pedantic -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"; then
		echo "FAIL (C11): $h"; fail=$((fail + 1))
	fi
	if ! "$cxx" -std=c++11 -Wall -Wextra -pedantic -Werror -I"$inc" -c "$tmp/t.cpp" -o "$tmp/t.o"; then
		echo "FAIL (C++): $h"; fail=$((fail + 1))
	fi
	n=$((n + 1))
done
echo "$n headers checked: $((n * 2 - fail)) passed, $fail failed"
[ "$n" -gt 0 ] && [ "$fail" -eq 0 ]

#!/bin/sh
# The shared library's ABI is compatible with the committed baseline (docs/api-stability.md).
#
#   check_abi.sh LIBRARY SOURCE_DIR
#
# The baseline is SOURCE_DIR/abi/<SONAME>.abi, libabigail's abidw XML of a RelWithDebInfo build
# restricted to the types of include/s3insights. abidiff compares it with LIBRARY:
#   - an incompatible change fails: abidiff's ABI_INCOMPATIBLE_CHANGE (a removed function or
#     variable), and also any function or variable abidiff lists as changed (a changed
#     signature or public type), which abidiff itself only calls ABI_CHANGE;
#   - a compatible change is shown and passes: added functions, and members appended at the
#     end of a struct whose first member is `uint32_t struct_size` (such changes are suppressed
#     through a libabigail suppression file generated from the headers);
#   - a new SONAME without a baseline of its own fails: bumping the SONAME on purpose comes
#     with a new baseline, made as printed below.
# Exit status 0 when compatible, 1 otherwise; 77 (skipped) when libabigail is not installed.
set -eu

lib=$1
src=$(cd "$2" && pwd)
headers=$src/include/s3insights

for tool in abidw abidiff readelf; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "check_abi: $tool not found (apt-get install abigail-tools binutils); skipped"; exit 77; }
done

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] || { echo "check_abi: FAILED: $lib has no SONAME"; exit 1; }
baseline=$src/abi/$soname.abi

how_to_bump() {
	cat <<HOW
check_abi: to change the ABI on purpose (docs/api-stability.md, "Changing the ABI"):
  1. bump the SONAME: while 0.x raise S3I_VERSION_MINOR in include/s3insights/version.h
     (the SONAME is libs3insights.so.0.<minor>), and the version node in src/libs3insights.map;
  2. rebuild RelWithDebInfo and write the new baseline:
       cmake -S . -B build-abi -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build-abi -j2 --target s3insights
       abidw --no-corpus-path --headers-dir include/s3insights \\
             --out-file abi/\$(readelf -d build-abi/libs3insights.so | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p').abi \\
             build-abi/libs3insights.so
  3. commit the new abi/*.abi with the change and say so in CHANGELOG.md.
HOW
}

if [ ! -f "$baseline" ]; then
	echo "check_abi: FAILED: no ABI baseline abi/$soname.abi for the library's SONAME $soname"
	echo "check_abi: baselines present: $(cd "$src/abi" 2>/dev/null && ls ./*.abi 2>/dev/null | tr '\n' ' ')"
	how_to_bump
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/s3i-abidiff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
out=$tmp/abidiff.out

# Structs versioned by their leading struct_size member may grow at the end (api-stability.md).
versioned=$(find "$headers" -name '*.h' -exec awk '
	/^typedef struct [A-Za-z0-9_]+ \{/ { name = $3; first = 1; next }
	first && NF { if ($0 ~ /^[ \t]*uint32_t struct_size;/) print name; first = 0 }
' {} + | sort -u | paste -sd '|' -)
supp=$tmp/versioned-structs.abignore
if [ -n "$versioned" ]; then
	cat >"$supp" <<SUPP
[suppress_type]
  type_kind = struct
  name_regexp = ^($versioned)\$
  has_data_member_inserted_at = end
  has_size_change = yes
SUPP
else
	: >"$supp"
fi

set +e
abidiff --no-corpus-path --suppressions "$supp" --headers-dir2 "$headers" "$baseline" "$lib" >"$out" 2>&1
rc=$?
set -e

# "Functions changes summary: 0 Removed, 1 Changed (2 filtered out), 3 Added functions"
changed=$(sed -n 's/^\(Functions\|Variables\) changes summary: [0-9]* Removed[^,]*, \([0-9]*\) Changed.*/\2/p' "$out" |
	awk '{ n += $1 } END { print n + 0 }')
if [ "$changed" -gt 0 ]; then
	rc=$((rc | 8))
fi

# abidiff's exit status is a bit set: 1 error, 2 usage error, 4 ABI change, 8 incompatible change.
if [ $((rc & 3)) -ne 0 ]; then
	cat "$out"
	echo "check_abi: FAILED: abidiff could not compare abi/$soname.abi with $lib (status $rc)"
	exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
	cat "$out"
	echo "check_abi: FAILED: incompatible ABI change against abi/$soname.abi (SONAME $soname)"
	how_to_bump
	exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
	cat "$out"
	echo "check_abi: ok with compatible changes against abi/$soname.abi (listed above;"
	echo "check_abi: refresh the baseline at a release so they are promised too: step 2 below)"
	how_to_bump | sed -n '/^  2\./,/^  3\./p' | sed '$d'
	exit 0
fi
echo "check_abi: ok, no ABI change against abi/$soname.abi (members appended to struct_size-versioned structs are not reported)"

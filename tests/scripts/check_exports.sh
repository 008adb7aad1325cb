#!/bin/sh
# The shared library exports s3i_* and nothing else (STYLE R10, R15).
set -eu
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$syms" | grep -v '^s3i_' || true)
count=$(printf '%s\n' "$syms" | grep -c '^s3i_' || true)
if [ -n "$bad" ]; then
	echo "symbols exported without the s3i_ prefix:"; printf '%s\n' "$bad"; exit 1
fi
[ "$count" -gt 0 ] || { echo "no s3i_ symbols exported"; exit 1; }
echo "exports: $count s3i_ symbols, none other"

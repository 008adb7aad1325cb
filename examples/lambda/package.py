#!/usr/bin/env python3
"""Build the Lambda deployment zip: bootstrap at the root, and in lib/ every shared library it
loads (per ldd) that is not part of glibc, which Amazon Linux 2023 provides. Prints the size."""
import os
import re
import subprocess
import sys
import zipfile

# Part of glibc: present on provided.al2023, never shipped.
GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux[-\w]*|linux-vdso)\.so")


def shipped_libraries(binary):
	out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
	libs = []
	for line in out.splitlines():
		m = re.match(r"\s*(\S+) => (\S+)", line)
		if not m:
			continue
		name, path = m.groups()
		if path == "not":
			sys.exit(f"package.py: {binary} needs {name}, which is not found")
		if not GLIBC.match(name):
			libs.append((name, os.path.realpath(path)))
	return libs


def main():
	binary, out = sys.argv[1], sys.argv[2]
	os.makedirs(os.path.dirname(out), exist_ok=True)
	tmp = out + ".tmp"
	with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
		def add(path, arcname):
			info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
			info.external_attr = (0o100755 << 16)
			info.compress_type = zipfile.ZIP_DEFLATED
			with open(path, "rb") as f:
				z.writestr(info, f.read())
		add(binary, "bootstrap")
		for name, path in sorted(shipped_libraries(binary)):
			add(path, "lib/" + name)
	os.replace(tmp, out)
	print(f"{out}: {os.path.getsize(out)} bytes ({os.path.getsize(out) / 1048576:.1f} MiB)")


if __name__ == "__main__":
	main()

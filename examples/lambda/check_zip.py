#!/usr/bin/env python3
"""Check the Lambda zip's binaries for provided.al2023: no GLIBC_ symbol version above 2.34
(Amazon Linux 2023's glibc), and every NEEDED library part of glibc or shipped in the zip."""
import os
import re
import subprocess
import sys
import tempfile
import zipfile

MAX_GLIBC = (2, 34)
GLIBC = re.compile(r"^(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux[-\w]*)\.so")


def main():
	zpath = sys.argv[1]
	problems = []
	with tempfile.TemporaryDirectory() as d:
		with zipfile.ZipFile(zpath) as z:
			names = z.namelist()
			z.extractall(d)
		if "bootstrap" not in names:
			problems.append("no bootstrap at the root of the zip")
		shipped = {os.path.basename(n) for n in names if n.startswith("lib/")}
		checked = 0
		for n in names:
			p = os.path.join(d, n)
			with open(p, "rb") as f:
				if f.read(4) != b"\x7fELF":
					continue
			checked += 1
			ver = subprocess.run(["readelf", "-W", "--version-info", p], check=True,
				capture_output=True, text=True).stdout
			for m in sorted(set(re.findall(r"GLIBC_(\d+)\.(\d+)", ver))):
				if (int(m[0]), int(m[1])) > MAX_GLIBC:
					syms = subprocess.run(["objdump", "-T", p], check=True, capture_output=True,
						text=True).stdout
					who = sorted({l.split()[-1] for l in syms.splitlines() if f"GLIBC_{m[0]}.{m[1]}" in l})
					problems.append(f"{n}: needs GLIBC_{m[0]}.{m[1]} (> 2.34) for {', '.join(who)}")
			dyn = subprocess.run(["readelf", "-W", "-d", p], check=True, capture_output=True,
				text=True).stdout
			for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn):
				if not GLIBC.match(lib) and lib not in shipped:
					problems.append(f"{n}: NEEDED {lib} is neither part of glibc nor in the zip")
		print(f"{zpath}: {checked} ELF files checked, {len(shipped)} shipped libraries")
	for p in problems:
		print("FAIL:", p)
	return 1 if problems else 0


if __name__ == "__main__":
	sys.exit(main())

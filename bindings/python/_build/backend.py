"""A PEP 517 build backend with no requirements, for `pip install bindings/python`.

The package is pure Python (ctypes over the installed C library), so a wheel is a zip of
s3insights/ plus its metadata. Building it here, instead of through setuptools, means pip
needs nothing from a package index: with setuptools older than 70.1 a wheel also needs the
`wheel` package, which a machine without network access may not have. Provides build_wheel,
build_sdist and build_editable (PEP 660: a .pth file pointing at this directory).
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "s3insights"


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("[project]", 1)[1].split("\n[", 1)[0]

    def field(name):
        m = re.search(rf'^{name}\s*=\s*"([^"]*)"', section, re.M)
        return m.group(1) if m else ""

    return field("name"), field("version"), field("description"), field("requires-python")


def _metadata():
    name, version, summary, requires = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             f"Summary: {summary}"]
    if requires:
        lines.append(f"Requires-Python: {requires}")
    readme = os.path.join(ROOT, "README.md")
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            body = f.read()
        return "\n".join(lines) + "\n\n" + body
    return "\n".join(lines) + "\n"


def _sources():
    base = os.path.join(ROOT, PACKAGE)
    for dirpath, dirnames, files in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                full = os.path.join(dirpath, f)
                yield full, os.path.relpath(full, ROOT).replace(os.sep, "/")


def _write_wheel(wheel_directory, files):
    name, version, _, _ = _project()
    dist = f"{name}-{version}.dist-info"
    wheel = f"{name}-{version}-py3-none-any.whl"
    files = list(files) + [
        (f"{dist}/METADATA", _metadata().encode("utf-8")),
        (f"{dist}/WHEEL", b"Wheel-Version: 1.0\nGenerator: s3insights-backend\n"
                          b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{dist}/top_level.txt", f"{PACKAGE}\n".encode()),
    ]
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            z.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arc},sha256={digest.decode()},{len(data)}")
        record.append(f"{dist}/RECORD,,")
        z.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return wheel


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_sdist = get_requires_for_build_wheel
get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for full, arc in _sources():
        with open(full, "rb") as f:
            files.append((arc, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(f"__editable__.{PACKAGE}.pth",
                                           (ROOT + "\n").encode("utf-8"))])


def build_sdist(sdist_directory, config_settings=None):
    name, version, _, _ = _project()
    base = f"{name}-{version}"
    out = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, out), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_build/backend.py"]:
            if os.path.exists(os.path.join(ROOT, rel)):
                t.add(os.path.join(ROOT, rel), f"{base}/{rel}")
        for full, arc in _sources():
            t.add(full, f"{base}/{arc}")
        info = _metadata().encode("utf-8")
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size = len(info)
        t.addfile(ti, io.BytesIO(info))
    return out

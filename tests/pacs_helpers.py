"""A real PACS for the tests: Orthanc with its DICOMweb plugin (Debian's orthanc and
orthanc-dicomweb), started on free local ports for a test module; the test is skipped with the
reason where they are not installed."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def orthanc_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base address of a running Orthanc (its DICOMweb root is ``/dicom-web``); the web
    tests' ``orthanc`` fixture starts one per test module."""
    if not Path(ORTHANC).exists() or not PLUGIN.exists():
        pytest.skip(
            "Orthanc and its DICOMweb plugin are not installed (apt: orthanc orthanc-dicomweb)"
        )
    folder = tmp_path_factory.mktemp("orthanc")
    port = free_port()
    config = {
        "Name": "spinepath-test",
        "StorageDirectory": str(folder / "db"),
        "IndexDirectory": str(folder / "db"),
        "HttpPort": port,
        "DicomPort": free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [ORTHANC, str(folder / "orthanc.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/system", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("Orthanc did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def upload(base: str, folder: Path) -> None:
    for path in sorted(folder.glob("*.dcm")):
        request = urllib.request.Request(f"{base}/instances", data=path.read_bytes(), method="POST")
        urllib.request.urlopen(request, timeout=10).read()

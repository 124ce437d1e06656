"""The issue's acceptance run, through the ``hp-archive`` command: a production of the demo
archive passes ``wacz validate``, its WARCs pass ``warcio check``, its DAT parses with the
standard delimiters with one row per document and paths that exist, its OPT references existing
images, its EDRM XML parses, and ``verify-export`` passes — then fails after one byte changes.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from hp_archive.cli import main
from hp_archive.demo import run_demo_capture
from hp_archive.settings import Settings
from tests.support.tools import BIN, warcio_check

DAT_SEPARATOR, DAT_QUOTE = "\x14", "\u00fe"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("hp") / "demo"
    settings = Settings(
        home=home,
        storage_url=(home / "store").as_uri(),
        database_url=f"sqlite:///{home / 'index.sqlite'}",
        accounts_path=home / "accounts.yaml",
    )
    summary = run_demo_capture(settings, posts=12, comments_per_post=4)
    assert all(n["outcome"] == "complete" for n in summary.nights)
    return home


@pytest.fixture
def cli(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "HP_ARCHIVE_STORAGE_URL",
        "HP_ARCHIVE_DATABASE_URL",
        "HP_ARCHIVE_ACCOUNTS",
        "HP_ARCHIVE_TIMEZONE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HP_ARCHIVE_HOME", str(demo_home))
    monkeypatch.setenv("HP_ARCHIVE_OPERATOR", "records-counsel")
    yield


def read_dat(path: Path) -> tuple[list[str], list[list[str]]]:
    """An independent reading of the DAT with the standard Concordance delimiters."""
    text = path.read_bytes().decode("utf-8")  # plain UTF-8: no byte-order mark before the header
    assert text.startswith(DAT_QUOTE + "BEGBATES" + DAT_QUOTE)
    lines = text.split("\r\n")
    assert lines[-1] == ""
    table = [[cell.strip(DAT_QUOTE) for cell in line.split(DAT_SEPARATOR)] for line in lines[:-1]]
    for line in lines[:-1]:
        assert all(c.startswith(DAT_QUOTE) and c.endswith(DAT_QUOTE) for c in line.split(DAT_SEPARATOR))
    return table[0], table[1:]


def test_production_of_the_demo_archive_passes_every_independent_check(
    cli: None, demo_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "kind:post OR kind:comment OR kind:reply"
    assert main(["hold", "create", "DEMO-1", "--query", query, "--reason", "acceptance"]) == 0
    capsys.readouterr()
    assert main(["export", "DEMO-1", "--out", str(tmp_path / "out"), "--zip", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    folder = Path(result["folder"])
    assert result["production"] == "PROD0001" and result["bates"]["first"] == "HPPD0000001"

    wacz = folder / "WACZ" / "PROD0001.wacz"
    validated = subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True
    )
    assert validated.returncode == 0 and "Validation succeeded" in validated.stdout, validated.stdout
    unpacked = tmp_path / "wacz"
    with zipfile.ZipFile(wacz) as z:
        z.extractall(unpacked)
    checked = warcio_check(sorted(str(p) for p in (unpacked / "archive").iterdir()))
    assert checked.returncode == 0, checked.stdout

    header, rows = read_dat(folder / "DATA" / "PROD0001.dat")
    for name in (
        "BEGBATES",
        "ENDBATES",
        "BEGATTACH",
        "ENDATTACH",
        "CUSTODIAN",
        "PLATFORM",
        "KIND",
        "AUTHOR",
        "DATECREATED",
        "DATECAPTURED",
        "STATUS",
        "URL",
        "NATIVEPATH",
        "TEXTPATH",
        "MD5HASH",
        "SHA1HASH",
        "SHA256HASH",
    ):
        assert name in header
    assert len(rows) == result["documents"]
    for row in rows:
        assert len(row) == len(header)
        record = dict(zip(header, row, strict=True))
        for name in ("NATIVEPATH", "TEXTPATH"):
            assert (folder / record[name].replace("\\", "/")).is_file()
    for line in (folder / "DATA" / "PROD0001.opt").read_text().splitlines():
        assert (folder / line.split(",")[2].replace("\\", "/")).is_file()
    edrm = ET.parse(folder / "DATA" / "PROD0001.xml").getroot()
    assert len(edrm.findall("./Batch/Documents/Document")) == len(rows)

    (public_key,) = (demo_home / "store").rglob("archive-ed25519-*.pem")  # what the archive publishes
    args = ["verify-export", str(folder), "--public-key", str(public_key)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "intact" in out and "verified with the given public key" in out
    assert main(["verify-export", result["zip"]]) == 0

    native = folder / rows[0][header.index("NATIVEPATH")].replace("\\", "/")
    data = bytearray(native.read_bytes())
    data[len(data) // 2] ^= 0x20
    native.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify-export", str(folder)]) == 1
    errors = capsys.readouterr().err
    assert native.relative_to(folder).as_posix() in errors and "problem" in errors

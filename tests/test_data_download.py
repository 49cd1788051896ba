"""``asdbench data download`` against a local HTTP server (127.0.0.1) serving small zips: full and
resumed downloads, verification, extraction into the layout asdbench reads, checksum errors."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from asdbench.cli import main
from asdbench.data.download import CHECKSUMS, TABLE, Archive, archives, download
from asdbench.errors import ConfigError, DataError


def _zip(machine: str) -> bytes:
    """A DCASE2023-style archive: <machine>/{train,test}/*.wav (real 16-bit WAV files)."""
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buffer, "w") as zf:
        for subset, name in (("train", "section_00_source_train_normal_0000_a.wav"),
                             ("train", "section_00_target_train_normal_0000_a.wav"),
                             ("test", "section_00_source_test_anomaly_0000_a.wav")):
            wav = io.BytesIO()
            sf.write(wav, rng.normal(0, 0.1, 4000).astype(np.float32), 16000, format="WAV", subtype="PCM_16")
            zf.writestr(f"{machine}/{subset}/{name}", wav.getvalue())
    return buffer.getvalue()


class _Server:
    """Serves ``files`` (path -> bytes) with Range support; records the Range headers it saw."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.ranges = files, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                header = self.headers.get("Range")
                server.ranges.append(header)
                if header:
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def test_cli_downloads_verifies_and_extracts_into_a_readable_layout(tmp_path):
    body = _zip("fan")  # DCASE2022 dev fan: a listed archive without a published checksum
    with _Server({"/6355122/files/dev_fan.zip": body}) as server:
        result = CliRunner().invoke(main, ["data", "download", "2022", "--machine", "fan", "--out", str(tmp_path),
                                           "--mirror", server.url, "--quiet"])
        assert result.exit_code == 0, result.output
        again = CliRunner().invoke(main, ["data", "download", "2022", "--machine", "fan", "--out", str(tmp_path),
                                          "--mirror", server.url, "--quiet"])
        assert "already downloaded and extracted" in again.output and len(server.ranges) == 1
    machine = tmp_path / "dcase2022" / "dev_data" / "raw" / "fan"
    assert sorted(p.name for p in (machine / "train").iterdir()) == ["section_00_source_train_normal_0000_a.wav",
                                                                     "section_00_target_train_normal_0000_a.wav"]
    ledger = json.loads((tmp_path / "downloads.json").read_text())
    assert ledger["dev_fan.zip"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert ledger["dev_fan.zip"]["checksum_published"] is None
    check = CliRunner().invoke(main, ["data", "check", str(tmp_path / "dcase2022"), "--json"])
    assert json.loads(check.output)["clips"] == 3


def test_a_published_md5_is_enforced_for_a_listed_archive(tmp_path):
    """DCASE2023 dev fan has Zenodo's MD5 in CHECKSUMS: a server handing out other bytes fails
    with the archive's name; the right bytes (the checksum patched to match) pass and are logged."""
    body = _zip("fan")
    (listed,) = archives("2023", ["dev"], ["fan"])
    assert listed.checksum == "md5:9348591e96fb0ad499a1e33b082562fc" and listed.record == "7882613"
    with _Server({"/7882613/files/dev_fan.zip": body}) as server:
        result = CliRunner().invoke(main, ["data", "download", "2023", "--machine", "fan", "--out", str(tmp_path),
                                           "--mirror", server.url, "--quiet"])
        assert result.exit_code == 2
        assert (f"dev_fan.zip: checksum mismatch (md5 {hashlib.md5(body).hexdigest()}, "
                "expected 9348591e96fb0ad499a1e33b082562fc, published)") in result.output
        assert "Traceback" not in result.output and (tmp_path / "archives" / "dev_fan.zip.bad").is_file()
        good = replace(listed, checksum=f"md5:{hashlib.md5(body).hexdigest().upper()}")
        lines = []
        download([good], tmp_path, mirror=server.url, progress=False, echo=lines.append)
    assert lines == [f"DCASE2023 dev fan (dev_fan.zip): verified (md5 as published), extracted into "
                     f"{tmp_path / 'dcase2023' / 'dev_data' / 'raw'}"]
    assert json.loads((tmp_path / "downloads.json").read_text())["dev_fan.zip"]["checksum_published"] == good.checksum


def test_the_checksum_table_only_names_listed_archives_in_md5():
    listed = {f"{a.record}/{a.file}" for year in TABLE for a in archives(year)}
    assert set(CHECKSUMS) <= listed and len(CHECKSUMS) == 18 + 21
    assert all(re.fullmatch(r"md5:[0-9a-f]{32}", value) for value in CHECKSUMS.values())
    assert len(set(CHECKSUMS.values())) == len(CHECKSUMS)  # no value copied twice
    assert all(a.verified and a.source for year in TABLE for a in archives(year))
    r2 = [a.file for a in archives("2024", ["additional"], ["3DPrinter", "RoboticArm", "Scanner"])]
    assert r2 == ["eval_data_3DPrinter_train_r2.zip", "eval_data_RoboticArm_train_r2.zip",
                  "eval_data_Scanner_train.zip"]


def test_an_unknown_checksum_algorithm_is_a_clear_error(tmp_path):
    body = _zip("fan")
    archive = Archive("2022", "dev", "fan", "6355122", "dev_fan.zip", "crc32:1234")
    with _Server({"/6355122/files/dev_fan.zip": body}) as server, pytest.raises(DataError) as info:
        download([archive], tmp_path, mirror=server.url, progress=False, echo=lambda _: None)
    assert str(info.value) == "dev_fan.zip: published checksum 'crc32:1234' is not '<md5|sha256>:<hex>'"


def test_an_interrupted_download_resumes_with_a_range_request(tmp_path):
    body = _zip("valve")
    archive = Archive("2023", "dev", "valve", "7882613", "dev_valve.zip", f"sha256:{hashlib.sha256(body).hexdigest()}")
    (tmp_path / "archives").mkdir()
    (tmp_path / "archives" / "dev_valve.zip.part").write_bytes(body[:1000])  # what a killed download left
    with _Server({"/7882613/files/dev_valve.zip": body}) as server:
        download([archive], tmp_path, mirror=server.url, progress=False, echo=lambda _: None)
    assert server.ranges == ["bytes=1000-"]
    assert (tmp_path / "archives" / "dev_valve.zip").read_bytes() == body
    assert (tmp_path / "dcase2023" / "dev_data" / "raw" / "valve" / "test").is_dir()


def test_a_checksum_mismatch_names_the_archive_and_keeps_nothing_extracted(tmp_path):
    body = _zip("fan")
    archive = Archive("2023", "dev", "fan", "7882613", "dev_fan.zip", "md5:" + "0" * 32)
    with _Server({"/7882613/files/dev_fan.zip": body}) as server, pytest.raises(DataError) as info:
        download([archive], tmp_path, mirror=server.url, progress=False, echo=lambda _: None)
    assert str(info.value).startswith("dev_fan.zip: checksum mismatch (md5 " + hashlib.md5(body).hexdigest())
    assert not (tmp_path / "dcase2023").exists() and (tmp_path / "archives" / "dev_fan.zip.bad").exists()


def test_missing_archive_and_traversal_are_clear_errors(tmp_path):
    with _Server({}) as server:
        result = CliRunner().invoke(main, ["data", "download", "2021", "--machine", "pump", "--out", str(tmp_path),
                                           "--mirror", server.url, "--quiet"])
    assert result.exit_code == 2 and "dev_data_pump.zip" in result.output and "HTTP 404" in result.output
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.wav", b"x")
    with _Server({"/1/files/evil.zip": evil.getvalue()}) as server, pytest.raises(DataError, match="outside"):
        download([Archive("2023", "dev", "x", "1", "evil.zip")], tmp_path, mirror=server.url, progress=False,
                 echo=lambda _: None)
    assert not (tmp_path.parent / "outside.wav").exists()


def test_the_table_covers_every_year_and_set():
    for year in ("2020", "2021", "2022", "2023", "2024", "2025"):
        for set_name in ("dev", "additional", "eval"):
            found = archives(year, [set_name])
            assert found and all(a.file.endswith(".zip") and a.record.isdigit() for a in found)
    assert [a.file for a in archives("2020", ["eval"], ["ToyCar"])] == ["eval_data_test_ToyCar.zip"]
    with pytest.raises(ConfigError, match="--machine 'bandsaw': not a machine type of DCASE2023 dev"):
        archives("2023", ["dev"], ["bandsaw"])
    listing = CliRunner().invoke(main, ["data", "download", "2024", "--set", "ground-truth"])
    assert listing.exit_code == 0 and "github.com/nttcslab/dcase2024_task2_evaluator" in listing.output
    assert "It is not downloaded" in listing.output
    listed = CliRunner().invoke(main, ["data", "download", "2020", "--set", "eval", "--machine", "fan", "--list"])
    assert listed.output.splitlines() == [
        "eval       fan             https://zenodo.org/records/3841772/files/eval_data_test_fan.zip?download=1"
        "  checksum: md5:1eb9356a768cadfd0f2e59a5c57e578b",
        "addresses checked against: nttcslab/dcase2023_task2_baseline_ae datasets/download_path_legacy.yaml"]

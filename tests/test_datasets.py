"""Real RAVDESS: verified download from a local server, safe extraction, clear offline errors."""

import hashlib
import http.server
import threading
import zipfile
from functools import partial

import pytest

from ser_utils import datasets
from ser_utils.datasets import DatasetUnavailable


@pytest.fixture
def served(tmp_path):
    """Serve ``tmp_path/www`` on 127.0.0.1 for the test's duration; yield the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_verifies_and_extracts(served, tmp_path):
    root, url = served
    md5 = make_zip(root / "speech.zip", {"Actor_01/03-01-05-01-01-01-01.wav": b"x", "Actor_02/a.wav": b"y"})
    target = tmp_path / "raw" / "ravdess"
    datasets.download_ravdess(target, url=f"{url}/speech.zip", md5=md5)
    assert (target / "Actor_01" / "03-01-05-01-01-01-01.wav").read_bytes() == b"x"


def test_a_partial_earlier_download_is_fetched_again_and_verified(served, tmp_path):
    root, url = served
    md5 = make_zip(root / "speech.zip", {"Actor_01/03-01-05-01-01-01-01.wav": b"complete"})
    target = tmp_path / "raw" / "ravdess"
    partial_archive = target.parent / "downloads" / datasets.RAVDESS_ARCHIVE
    partial_archive.parent.mkdir(parents=True)
    partial_archive.write_bytes((root / "speech.zip").read_bytes()[:40])  # an interrupted download
    datasets.download_ravdess(target, url=f"{url}/speech.zip", md5=md5)
    assert (target / "Actor_01" / "03-01-05-01-01-01-01.wav").read_bytes() == b"complete"
    assert hashlib.md5(partial_archive.read_bytes()).hexdigest() == md5


def test_tampered_download_is_rejected_and_nothing_extracted(served, tmp_path):
    root, url = served
    md5 = make_zip(root / "speech.zip", {"Actor_01/a.wav": b"x"})
    make_zip(root / "speech.zip", {"Actor_01/a.wav": b"tampered"})
    target = tmp_path / "raw" / "ravdess"
    with pytest.raises(DatasetUnavailable, match="failed verification"):
        datasets.download_ravdess(target, url=f"{url}/speech.zip", md5=md5)
    assert not target.exists()


def test_the_staging_folder_of_a_killed_extraction_is_removed_on_the_next(tmp_path):
    import os
    import time

    archive = tmp_path / "speech.zip"
    make_zip(archive, {"Actor_01/a.wav": b"x"})
    target = tmp_path / "raw" / "ravdess"
    stale = target.parent / ".ravdess.killed"
    (stale / "Actor_01").mkdir(parents=True)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    datasets.safe_extract(archive, target)
    assert not stale.exists() and (target / "Actor_01" / "a.wav").exists()


def test_members_escaping_the_target_are_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    make_zip(archive, {"Actor_01/ok.wav": b"x", "../../escaped.wav": b"y"})
    with pytest.raises(ValueError, match="outside"):
        datasets.safe_extract(archive, tmp_path / "out" / "ravdess")
    assert not (tmp_path / "out" / "ravdess").exists() and not (tmp_path / "escaped.wav").exists()
    assert not list((tmp_path / "out").glob(".*"))


def test_unreachable_server_fails_at_once_saying_how_to_provide_the_data(tmp_path):
    with pytest.raises(DatasetUnavailable, match="RAVDESS_DIR"):
        datasets.download_ravdess(tmp_path / "ravdess", url="http://127.0.0.1:9/none.zip", md5="0" * 32)


def test_resolve_uses_a_given_folder_and_explains_a_missing_one(tmp_path):
    assert datasets.resolve_dataset("ravdess", tmp_path).path == tmp_path
    assert not datasets.resolve_dataset("ravdess", tmp_path).synthetic
    with pytest.raises(DatasetUnavailable, match="does not exist"):
        datasets.resolve_dataset("ravdess", tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.resolve_dataset("timit")


def test_the_default_folder_is_used_when_the_archive_top_folder_sits_between(tmp_path, monkeypatch):
    """Unzipped by hand into data/raw/ravdess, the archive keeps its top folder: no download, no 'remove it'."""
    monkeypatch.setattr(datasets.config, "RAVDESS_DIR", tmp_path / "ravdess")
    (tmp_path / "ravdess" / "Audio_Speech_Actors_01-24" / "Actor_01").mkdir(parents=True)
    assert datasets.resolve_dataset("ravdess", download=False).path == tmp_path / "ravdess"
    (tmp_path / "ravdess" / "Audio_Speech_Actors_01-24" / "Actor_01").rmdir()
    with pytest.raises(DatasetUnavailable, match="holds no RAVDESS actors"):
        datasets.resolve_dataset("ravdess", download=False)

"""Which corpus a run uses: the built-in synthetic one, or real RAVDESS (given or downloaded)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from . import config, synth
from .storage import corpus_folder, remove_leftovers

RAVDESS_URL = "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip"
RAVDESS_MD5 = "bc696df654c87fed845eb13823edef8a"
RAVDESS_ARCHIVE = "Audio_Speech_Actors_01-24.zip"
RAVDESS_CITATION = (
    "Livingstone & Russo (2018), The Ryerson Audio-Visual Database of Emotional Speech and Song (RAVDESS), "
    "PLoS ONE 13(5): e0196391; CC BY-NC-SA 4.0"
)
HOW_TO_PROVIDE = (
    "Provide the RAVDESS speech corpus yourself: download Audio_Speech_Actors_01-24.zip from Zenodo record "
    "1188976, unzip it, and run `make report DATASET=ravdess RAVDESS_DIR=/path/to/Actor_folders`."
)


class DatasetUnavailable(RuntimeError):
    """The requested corpus is neither present nor downloadable here."""


@dataclass(frozen=True)
class Dataset:
    """A corpus on disk and how every figure made from it must be labelled.

    ``n_actors`` and ``n_clips`` count the clips actually used (:meth:`counted`), never the folders on disk.
    """

    name: str
    path: Path
    synthetic: bool
    n_actors: int | None = None
    n_clips: int | None = None

    def counted(self, table) -> Dataset:
        """This corpus with the actors and clips of ``table`` (the clips a run uses) counted."""
        return replace(self, n_actors=int(table["actor"].nunique()), n_clips=int(len(table)))

    @property
    def label(self) -> str:
        """Short caption naming the corpus; a synthetic corpus always says so."""
        if self.synthetic:
            return f"SYNTHETIC corpus (eSpeak NG speech in RAVDESS layout, {self.n_actors or '?'} speakers)"
        size = f"{self.n_actors} actors, " if self.n_actors else ""
        return f"RAVDESS speech ({size}folder {self.path.name}/)"  # not the absolute path: reports get shared

    def describe(self) -> str:
        """A Markdown paragraph on what this corpus is, for the notebooks' prose (written per corpus)."""
        if self.synthetic:
            return ("**This run uses the synthetic corpus**: eSpeak NG speech made offline in RAVDESS's exact design "
                    f"and naming ({self.n_actors or '?'} speakers, {self.n_clips or '?'} clips). It is *not* real "
                    "emotional speech: "
                    "the voices are robotic, and each emotion is a rule that moves loudness, pitch, tempo and voice "
                    "quality as in people. It proves that the pipeline works; every figure is labelled synthetic.")
        return (f"**This run uses real RAVDESS recordings**: {self.label}, {self.n_clips or '?'} clips. Professional actors "
                "speak two fixed sentences in North-American English with each emotion, at two intensities.")

    def to_dict(self) -> dict:
        """JSON-able description, saved with labels, models and metrics."""
        return {"name": self.name, "path": str(self.path), "synthetic": self.synthetic, "label": self.label,
                "n_actors": self.n_actors, "n_clips": self.n_clips}


def resolve_dataset(name: str = "synthetic", data_dir: str | Path | None = None, *, seed: int = config.DEFAULT_SEED,
                    n_actors: int | None = None, download: bool = True) -> Dataset:
    """Return the corpus called ``name`` (``synthetic`` or ``ravdess``), building or fetching it if needed.

    ``synthetic`` is built offline with ``n_actors`` speakers when missing (in ``data_dir`` if given); with
    ``n_actors=None``, a corpus already built is used whatever its size (``make report ACTORS=24`` built it; the
    benchmarks must not rebuild it at 12), and a missing one is built at the default size. ``ravdess`` uses ``data_dir`` when
    given, else ``data/raw/ravdess``, downloading it there if ``download`` is true.
    """
    if name == "synthetic":
        path = Path(data_dir) if data_dir else config.SYNTHETIC_DIR
        n_actors = n_actors or synth.built_size(path, seed) or config.SYNTHETIC_ACTORS
        return Dataset("synthetic", synth.build_synthetic_corpus(path, seed=seed, n_actors=n_actors),
                       synthetic=True)
    if name == "ravdess":
        if data_dir:
            path = corpus_folder(data_dir)
            if not path.is_dir():
                raise DatasetUnavailable(f"{path}: RAVDESS_DIR does not exist. {HOW_TO_PROVIDE}")
            return Dataset("ravdess", path, synthetic=synth.is_synthetic(path))
        if not holds_actors(config.RAVDESS_DIR):
            if not download:
                raise DatasetUnavailable(f"{config.RAVDESS_DIR} holds no RAVDESS actors. {HOW_TO_PROVIDE}")
            download_ravdess(config.RAVDESS_DIR)
        return Dataset("ravdess", config.RAVDESS_DIR, synthetic=False)
    raise ValueError(f"unknown dataset {name!r}; choose 'synthetic' or 'ravdess'")


def holds_actors(folder: Path) -> bool:
    """True if ``folder`` holds ``Actor_XX`` folders, directly or in one folder between (the archive's own top folder,
    ``Audio_Speech_Actors_01-24/``, which some unzip tools keep): the corpus scan reads both."""
    return any(folder.glob("Actor_*")) or any(folder.glob("*/Actor_*"))


def download_ravdess(target: str | Path = config.RAVDESS_DIR, *, url: str = RAVDESS_URL, md5: str = RAVDESS_MD5) -> Path:
    """Download the RAVDESS speech archive (checksum verified, progress bar) and extract it safely."""
    import pooch

    target = Path(target)
    try:
        archive = pooch.retrieve(url, known_hash=f"md5:{md5}", fname=RAVDESS_ARCHIVE, path=target.parent / "downloads",
                                 progressbar=True)
    except ValueError as error:  # pooch's checksum mismatch
        raise DatasetUnavailable(f"{url}: downloaded file failed verification ({error})") from None
    except Exception as error:  # network failures come in many types (requests, OSError, ...)
        raise DatasetUnavailable(f"cannot download {url} ({type(error).__name__}: {error}). {HOW_TO_PROVIDE}") from None
    return safe_extract(archive, target)


def safe_extract(archive: str | Path, target: str | Path) -> Path:
    """Extract a zip into ``target``, refusing any member that would land outside it.

    Extraction goes to a temporary sibling folder that is renamed into place, so an
    interrupted or refused extraction leaves nothing half-written.
    """
    import shutil
    import tempfile

    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target.parent, f".{target.name}.*")  # the staging folder of a killed extraction
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                destination = (staging / member.filename).resolve()
                if not destination.is_relative_to(staging) or member.filename.startswith(("/", "\\")):
                    raise ValueError(f"{archive}: member {member.filename!r} would be extracted outside {target}")
            bundle.extractall(staging)
        if target.exists() and any(target.iterdir()):
            raise FileExistsError(f"{target} already holds files; remove it to extract {archive} again")
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except zipfile.BadZipFile as error:
        raise DatasetUnavailable(f"{archive}: not a valid zip archive ({error})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target

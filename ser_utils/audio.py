"""Robust audio loading: any sample rate, mono, WAV/FLAC/OGG/MP3, clear errors that name the file."""

from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from . import spectral
from .vad import speech_span

#: Below this peak amplitude a clip is treated as silent (about -80 dBFS).
SILENCE_PEAK = 1e-4
#: Shortest clip that holds at least one analysis frame.
MIN_DURATION_S = 0.05
#: libsndfile's log line for a WAV or AIFF data chunk that promises more bytes than the file holds.
_CUT_CHUNK = re.compile(r"^ *(?:data|SSND) : (\d+) \(should be (\d+)\)", re.MULTILINE)
#: From this size on, a data chunk's length is a streaming writer's placeholder (length unknown), not a promise.
_UNKNOWN_CHUNK_SIZE = 0x7FFF0000


class AudioError(ValueError):
    """An audio file that cannot be used; the message names the file and the problem."""


def _decoder_reason(error: Exception) -> str:
    """libsndfile's reason for refusing a file, without the file name it prepends as Python bytes.

    Its codes 1 ("Format not recognised") and 7 ("does not exist or is not a regular file", given after the file was
    found to be one: random bytes, a damaged MP3) both mean that it could not read the file as any format it knows.
    """
    if getattr(error, "code", None) in (1, 7):
        return "not recognised as audio, or damaged"
    return (getattr(error, "error_string", None) or str(error)).rstrip(".")


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """Return soundfile's header information, or raise :class:`AudioError` naming the file and the problem."""
    path = Path(path)
    status = _status(path)
    if stat.S_ISDIR(status.st_mode):
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not stat.S_ISREG(status.st_mode):
        raise AudioError(f"{path}: not a regular file (a pipe, socket or device), not audio")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path}: permission denied (the file is not readable)")
    if status.st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        info = sf.info(os.fsencode(path))  # bytes: a name that is not UTF-8 still opens
    except PermissionError:
        raise AudioError(f"{path}: permission denied (the file is not readable)") from None
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"{path}: unreadable or corrupt audio ({_decoder_reason(error)})") from None
    if info.frames == 0:
        raise AudioError(f"{path}: empty recording (a header with no audio frames)")
    return info


def _status(path: Path) -> os.stat_result:
    """``os.stat`` of ``path``, or :class:`AudioError` if it is missing or a folder above it cannot be read."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise AudioError(f"{path}: no such file") from None
    except PermissionError:
        raise AudioError(f"{path}: permission denied (a folder above it cannot be read)") from None
    except OSError as error:
        raise AudioError(f"{path}: cannot be looked at ({error.strerror})") from None


def load_audio(
    path: str | Path,
    *,
    sample_rate: int | None = None,
    offset: float = 0.0,
    duration: float | None = None,
    res_type: str = "soxr_hq",
) -> tuple[np.ndarray, int]:
    """Read ``duration`` seconds from ``offset`` as mono float32, resampled to ``sample_rate``.

    Like ``librosa.load``, the segment is cut at the file's own rate before resampling;
    channels are averaged. ``sample_rate=None`` keeps the file's rate. Raises
    :class:`AudioError` for missing, empty, corrupt, silent or too-short audio.

    >>> samples, rate = load_audio("clip.wav", sample_rate=16000)  # doctest: +SKIP
    """
    info = audio_info(path)
    start = int(round(offset * info.samplerate))
    stop = None if duration is None else start + int(round(duration * info.samplerate))
    try:
        samples, native_rate = sf.read(os.fsencode(path), start=start, stop=stop, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"{path}: unreadable or corrupt audio ({_decoder_reason(error)})") from None
    if offset == 0 and duration is None:
        _warn_if_cut_short(path, info, len(samples))
    samples = downmix(samples, path)
    check_audio(samples, native_rate, path, whole_file=offset == 0 and duration is None)
    if sample_rate is None:
        return samples, native_rate
    return resample(samples, native_rate, sample_rate, res_type=res_type), sample_rate


def load_audio_noting(path: str | Path, **options) -> tuple[np.ndarray, int, list[str]]:
    """:func:`load_audio`, and the warnings it gave about the file (cut short, channels that cancel out) as messages
    instead of printed warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples, rate = load_audio(path, **options)
    return samples, rate, [str(warning.message) for warning in caught]


def promised_duration(path: str | Path, info: sf._SoundFileInfo, frames_read: int) -> float:
    """Seconds of audio the file's header promises: a WAV or AIFF data chunk's size, or the frame count of an MP3's
    Xing, Info or VBRI header; otherwise (no promise) the frames read.

    libsndfile counts only the frames a cut WAV holds, but logs the chunk's promise ("data : N (should be M)"). For an
    MP3 it reports the header's frame count, or without such a header an estimate from the file's size (no promise).
    """
    cut = _CUT_CHUNK.search(info.extra_info)
    if cut and int(cut[2]) > 0 and int(cut[1]) < _UNKNOWN_CHUNK_SIZE:
        return info.duration * int(cut[1]) / int(cut[2])
    if info.format == "MP3" and _mp3_states_its_length(path):
        return info.frames / info.samplerate
    return frames_read / info.samplerate


def _mp3_states_its_length(path: str | Path) -> bool:
    """True if the MP3's first frame, after any ID3v2 tag, is a Xing, Info or VBRI header (which counts the frames)."""
    with open(path, "rb") as file:
        tag = file.read(10)
        if tag[:3] == b"ID3" and len(tag) == 10:  # its size: four 7-bit bytes, after the 10-byte tag header
            file.seek(10 + sum((byte & 0x7F) << (7 * (3 - place)) for place, byte in enumerate(tag[6:10])))
        else:
            file.seek(0)
        first_frame = file.read(4096)
    return any(marker in first_frame for marker in (b"Xing", b"Info", b"VBRI"))


def _warn_if_cut_short(path: str | Path, info: sf._SoundFileInfo, frames_read: int) -> None:
    """Warn, naming the file, if it holds clearly less audio than its header promises (a download cut off)."""
    promised, held = promised_duration(path, info, frames_read), frames_read / info.samplerate
    if promised - held > max(0.05, 0.02 * promised):
        warnings.warn(f"{path}: cut short: its header promises {promised:.2f} s of audio, the file holds {held:.2f} s "
                      "(an interrupted download or copy?); only what it holds is used", stacklevel=3)


def downmix(channels: np.ndarray, path: str | Path) -> np.ndarray:
    """Average the channels (samples x channels) to mono.

    If they cancel out (one channel inverted: the mix is far quieter than its loudest
    channel), the loudest channel is used instead, with a warning naming the file.
    """
    mono = channels.mean(axis=1)
    peaks = np.abs(channels).max(axis=0)
    if channels.shape[1] > 1 and peaks.max() >= SILENCE_PEAK and np.abs(mono).max() < 0.1 * peaks.max():
        loudest = int(peaks.argmax())
        warnings.warn(f"{path}: its channels cancel out when mixed (one is inverted); using channel {loudest + 1}",
                      stacklevel=3)
        return np.ascontiguousarray(channels[:, loudest])
    return mono


def resample(samples: np.ndarray, rate: int, target_rate: int, *, res_type: str = "soxr_hq") -> np.ndarray:
    """``samples`` at ``rate`` Hz converted to ``target_rate`` Hz (float32; unchanged when the rates agree)."""
    if rate != target_rate:
        samples = (spectral.resample_soxr(samples, rate, target_rate, quality=res_type) if res_type.startswith("soxr")
                   else librosa.resample(samples, orig_sr=rate, target_sr=target_rate, res_type=res_type))
    return samples.astype(np.float32, copy=False)


def check_audio(samples: np.ndarray, sample_rate: int, path: str | Path, *, whole_file: bool = True) -> None:
    """Raise :class:`AudioError` naming ``path`` if ``samples`` are non-finite, too short or silent."""
    where = "file" if whole_file else "selected segment"
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    if len(samples) < MIN_DURATION_S * sample_rate:
        raise AudioError(
            f"{path}: {where} too short ({len(samples)} samples, {len(samples) / sample_rate * 1000:.3g} ms; at least "
            f"{MIN_DURATION_S * 1000:.0f} ms needed)"
        )
    if np.max(np.abs(samples)) < SILENCE_PEAK:
        raise AudioError(f"{path}: {where} is silent (peak below {SILENCE_PEAK:g})")


#: How the speech of a clip is found: a trained voice-activity detector, or the level below the clip's peak.
SPEECH_FINDERS = ("vad", "level")


def speech_bounds(samples: np.ndarray, sample_rate: int, *, finder: str = "vad", top_db: float = 30.0) -> tuple[int, int]:
    """(start, stop) samples of a clip without its leading and trailing silence or noise.

    ``finder="vad"``: from the first to the last frame that Silero VAD hears as speech (:mod:`ser_utils.vad`), which
    holds in noise; where it hears none, and with ``finder="level"``, where the level rises ``top_db`` below the
    peak (a quiet studio's silence; noise within ``top_db`` of the speech is kept as if it were speech).
    """
    if finder not in SPEECH_FINDERS:
        raise ValueError(f"unknown speech finder {finder!r}; choose one of {SPEECH_FINDERS}")
    if finder == "vad":
        span = speech_span(samples, sample_rate)
        if span is not None:
            return span
    return spectral.level_bounds(samples, top_db=top_db, frame_length=512, hop_length=128)


def speech_excerpt(samples: np.ndarray, sample_rate: int, margin_s: float = 0.2) -> np.ndarray:
    """The clip's speech with ``margin_s`` of what surrounds it: what is worth listening to (and embedding)."""
    start, stop = speech_bounds(samples, sample_rate)
    margin = int(margin_s * sample_rate)
    return samples[max(0, start - margin) : stop + margin]

"""Robust loading: formats, channels, rates, and clear errors naming the file."""

import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from ser_utils import audio
from ser_utils.audio import AudioError, load_audio


@pytest.mark.parametrize("suffix", ["wav", "flac", "ogg"])
def test_reads_each_format_as_mono_float(write_audio, suffix):
    path = write_audio(f"clip.{suffix}", tone(seconds=1.0))
    samples, rate = load_audio(path)
    assert rate == 22050 and samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 22050) < 2200


def test_stereo_is_averaged_to_mono(write_audio):
    left, right = tone(440, 1.0), np.zeros(22050, dtype=np.float32)
    samples, _ = load_audio(write_audio("stereo.wav", np.stack([left, right], axis=1)))
    np.testing.assert_allclose(samples, left / 2, atol=1e-4)


def test_resamples_to_the_requested_rate_keeping_pitch(write_audio):
    samples, rate = load_audio(write_audio("hi.wav", tone(1000, 2.0, rate=48000), rate=48000), sample_rate=16000)
    assert rate == 16000 and len(samples) == 32000
    spectrum = np.abs(np.fft.rfft(samples))
    assert abs(np.argmax(spectrum) * 16000 / len(samples) - 1000) < 2


def test_offset_and_duration_cut_before_resampling(write_audio):
    samples, _ = load_audio(write_audio("long.wav", tone(seconds=3.0)), offset=0.5, duration=1.0)
    assert len(samples) == 22050


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty file"),
    (b"RIFF\x00\x00\x00\x00WAVEgarbage" * 10, "unreadable or corrupt"),
    (b"this is plainly text, not audio", "unreadable or corrupt"),
])
def test_bad_files_raise_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "03-01-05-01-01-01-01.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=problem) as error:
        load_audio(path)
    assert str(path) in str(error.value)


def test_a_file_in_no_audio_format_is_named_as_text_with_the_decoder_reason(tmp_path):
    """libsndfile names the file as Python bytes and calls a file it cannot place "not a regular file"."""
    path = tmp_path / "prise de son é.wav"
    path.write_bytes(np.random.default_rng(1).bytes(3000))
    with pytest.raises(AudioError) as error:
        load_audio(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "not recognised as audio, or damaged" in message
    assert "b'" not in message and "regular file" not in message


def test_missing_silent_and_too_short_are_explicit(tmp_path, write_audio):
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "absent.wav")
    with pytest.raises(AudioError, match="silent"):
        load_audio(write_audio("silent.wav", np.zeros(22050, dtype=np.float32)))
    with pytest.raises(AudioError, match="too short"):
        load_audio(write_audio("blip.wav", tone(seconds=0.01)))


def test_a_one_sample_file_is_too_short_in_samples_not_zero_ms(write_audio):
    with pytest.raises(AudioError, match=r"too short \(1 samples, 0.0454 ms;"):
        load_audio(write_audio("one.wav", tone(seconds=1.0)[:1]))


def _cut_in_half(path):
    """The first half of ``path``'s bytes, as a download cut off midway leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("suffix", ["wav", "aiff", "mp3"])
def test_a_file_cut_short_is_read_with_a_warning_naming_it(write_audio, suffix):
    path = _cut_in_half(write_audio(f"cut.{suffix}", tone(seconds=2.0)))
    with pytest.warns(UserWarning, match=r"cut short: its header promises 2.00 s of audio, the file holds [01].\d\d s"):
        samples, rate = load_audio(path)
    assert 0.7 < len(samples) / rate < 1.05


def _mp3_frames(data: bytes) -> list[bytes]:
    """The MPEG-1 layer III frames of ``data`` (44.1 kHz), each cut at the length its 4-byte header gives."""
    bitrates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    frames, start = [], 0
    while start + 4 <= len(data) and data[start] == 0xFF:
        header = data[start + 2]
        size = 144000 * bitrates[header >> 4] // 44100 + ((header >> 1) & 1)
        frames.append(data[start : start + size])
        start += size
    return frames


def test_a_variable_bitrate_mp3_without_a_length_header_is_not_cut_short(tmp_path, recwarn):
    """Without a Xing header, libsndfile estimates an MP3's length from its first frame's bitrate: no promise."""
    rng = np.random.default_rng(0)
    for name, level, seconds in (("quiet", 1e-5, 1), ("loud", 0.5, 3)):
        sf.write(tmp_path / f"{name}.mp3", (level * rng.normal(size=44100 * seconds)).clip(-1, 1), 44100)
    quiet, loud = (_mp3_frames((tmp_path / f"{name}.mp3").read_bytes())[1:] for name in ("quiet", "loud"))
    path = tmp_path / "variable.mp3"  # a few low-bitrate frames, then high-bitrate ones: the estimate is far too long
    path.write_bytes(b"".join(quiet[:5] + loud))
    assert sf.info(path).frames > 1.5 * (5 + len(loud)) * 1152
    assert len(load_audio(path)[0]) == (5 + len(loud)) * 1152
    assert not [warning for warning in recwarn if "cut short" in str(warning.message)]


def test_whole_files_and_unknown_lengths_are_not_cut_short(write_audio, recwarn):
    """A streaming writer that did not know the length puts 0xFFFFFFFF in the data chunk's size: no promise."""
    whole = write_audio("whole.mp3", tone(seconds=2.0))
    streamed = write_audio("streamed.wav", tone(seconds=2.0))
    data = bytearray(streamed.read_bytes())
    size_at = data.index(b"data") + 4
    data[size_at : size_at + 4] = b"\xff\xff\xff\xff"
    streamed.write_bytes(bytes(data))
    for path in (whole, streamed):
        assert abs(len(load_audio(path)[0]) - 44100) < 50
    assert not [warning for warning in recwarn if "cut short" in str(warning.message)]


def test_an_excerpt_keeps_the_speech_and_a_margin_of_silence():
    rate = 16000
    clip = np.concatenate([np.zeros(rate), tone(seconds=1.0, rate=rate), np.zeros(rate)])
    excerpt = audio.speech_excerpt(clip, rate, margin_s=0.2)
    assert abs(len(excerpt) / rate - 1.4) < 0.05 and np.abs(excerpt[: int(0.15 * rate)]).max() == 0

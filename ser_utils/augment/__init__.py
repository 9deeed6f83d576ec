"""Corrupted copies of clips: noise, rooms, telephone, codec, gain and length, deterministic for a seed.

A :class:`Corruption` names one clip and a chain of steps, each a tuple ``(kind, value, ...)`` applied by the
:class:`Step` registered under ``kind`` in :data:`STEPS` (adding a kind: one subclass, one line there):

- ``("white" | "pink" | "brown", snr_db)``: coloured Gaussian noise (the ``colorednoise`` package);
- ``("babble", snr_db)``: the sum of the corruption's ``sources``: in training copies clips of *other* speakers, in the
  robustness study the fold's other test clips;
- ``("reverb", rt60_s, room, purpose)``: convolution with the impulse response of room number ``room`` of
  a family (``purpose``: "train" or "study" rooms never coincide), simulated by ``pyroomacoustics``
  (image-source method; the absorption is adjusted until the simulated RT60 matches ``rt60_s``);
- ``("telephone",)``: 300-3400 Hz band (4th-order Butterworth) and the GSM full-rate codec (``pedalboard``);
- ``("codec", vbr_quality)``: MP3 at a variable-bit-rate quality 0 (best) to 10 (``pedalboard``);
- ``("gain", db)``: a level change;
- ``("length", seconds)``: the first ``seconds`` of the speech (silence trimmed as in the features).

The SNR is measured against the *active* speech level (frames within 10 dB of the loudest), so a
clip's leading and trailing silence does not change it. Everything random draws from a generator
seeded by the corruption's ``seed``: the same corruption always gives the same samples.

Two uses: :class:`Augmentation` draws random chains for training clips (babble from the fold's other
training speakers), and :data:`STUDY_CONDITIONS` with :func:`study_corruptions` corrupt test clips,
one condition at a time (babble from the fold's other test clips).
"""

from .policy import BABBLE_TALKERS, NOISE_KINDS, Augmentation, babble_groups, babble_sources
from .rooms import ROOMS_DIR, Room, impulse_response, make_room, simulate
from .signals import (NOISE_EXPONENTS, babble, coloured_noise, first_seconds_of_speech, mix_at_snr, mp3, reverberate,
                      speech_power, telephone)
from .steps import STEPS, Corruption, Step, apply, clip_seed, corrupt_file
from .study import STUDY_CONDITIONS, STUDY_ROOMS, showcase, study_corruptions

__all__ = ["Augmentation", "BABBLE_TALKERS", "Corruption", "NOISE_EXPONENTS", "NOISE_KINDS", "ROOMS_DIR", "Room",
           "STEPS", "STUDY_CONDITIONS", "STUDY_ROOMS", "Step", "apply", "babble", "babble_groups", "babble_sources",
           "clip_seed", "coloured_noise", "corrupt_file", "first_seconds_of_speech", "impulse_response", "make_room",
           "mix_at_snr", "mp3", "reverberate", "showcase", "simulate", "speech_power", "study_corruptions", "telephone"]

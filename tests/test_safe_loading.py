"""A shared model folder is data: nothing in the project unpickles a file, and Keras files holding code are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ser_utils.models import ModelMismatch, build_model

ROOT = Path(__file__).resolve().parents[1]
#: Calls that build objects from a file's own instructions (pickle) or may (NumPy's pickled arrays by default).
UNPICKLING = re.compile(r"\b(?:joblib\.load|pickle\.loads?|pickle\.Unpickler|cloudpickle\.loads?|dill\.loads?|"
                        r"torch\.load|pd\.read_pickle|read_pickle)\s*\(|from joblib import [^\n]*\bload\b|"
                        r"safe_mode\s*=\s*False|trusted\s*=\s*(?:True|skops\.io\.get_untrusted_types|get_untrusted)|"
                        r"np\.load\((?![^)]*allow_pickle=False)")


def project_code() -> dict[Path, str]:
    """Every Python file and notebook of the package, the benchmarks and the notebooks."""
    files = [*ROOT.glob("ser_utils/**/*.py"), *ROOT.glob("benchmarks/*.py"), *ROOT.glob("notebooks/*.ipynb")]
    return {path: path.read_text() for path in files}


def test_no_code_path_unpickles_a_file():
    found = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path, text in project_code().items()
             for match in UNPICKLING.finditer(text)]
    assert not found, f"unpickling calls returned: {found}"


def test_the_unpickling_check_sees_each_form_it_forbids():
    for line in ("model = joblib.load(path)", "pickle.load(handle)", "pickle.loads(data)", "pd.read_pickle(path)",
                 "pickle.Unpickler(handle)", "from joblib import dump, load", "keras.saving.load_model(p, safe_mode=False)",
                 "skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))",
                 "with np.load(cache_file) as cached:", "np.load(path, mmap_mode='r')"):
        assert UNPICKLING.search(line), line
    assert not UNPICKLING.search("with np.load(cache_file, allow_pickle=False) as cached:")


def test_a_keras_file_holding_a_lambda_layer_is_refused(tmp_path):
    import keras

    network = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2)])
    network.save(tmp_path / "model.keras")
    model = build_model("cnn", ["female_angry", "male_angry"])
    with pytest.raises(ModelMismatch, match="refused: it holds code"):
        model._load_weights(tmp_path / "model.keras")

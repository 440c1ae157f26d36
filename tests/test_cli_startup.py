"""The CLI starts without the heavy libraries: they load inside the commands that use them.

Nothing here is timed (bench/bench_cli_startup.py measures the CPU seconds); this checks which
modules a fresh interpreter has loaded after building the whole `talktracks` parser.
"""

from __future__ import annotations

import json
import subprocess
import sys

from talktracks.cli import main

HEAVY = ("sklearn", "spacy", "faster_whisper", "ctranslate2", "statsmodels", "pandas", "prefect")


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_import_and_parser_load_no_heavy_library():
    loaded = loaded_after("import talktracks.cli\ntalktracks.cli.build_parser()")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_status_loads_no_heavy_library(tmp_path):
    code = (
        "from talktracks.cli import main\n"
        f"assert main(['status', '--db', 'sqlite:///{tmp_path / 'tt.db'}']) == 0"
    )
    loaded = loaded_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_users_list_loads_no_heavy_library(tmp_path):
    code = (
        "from talktracks.cli import main\n"
        f"assert main(['users', 'list', '--db', 'sqlite:///{tmp_path / 'tt.db'}']) == 0"
    )
    loaded = loaded_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_version(capsys):
    from importlib.metadata import version

    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"talktracks {version('talktracks')}"


def test_review_app_starts_without_the_model_stack(tmp_path):
    """`talktracks review serve` builds the app without scikit-learn or spaCy: they load on the
    first request that needs the model (a speaker swap), not at every start."""
    code = (
        "from talktracks.config import Settings\n"
        "from talktracks.review import create_app\n"
        f"app = create_app(Settings(data_dir={str(tmp_path)!r}))\n"
        "assert app.routes\n"
    )
    loaded = loaded_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))

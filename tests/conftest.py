import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


import pytest  # noqa: E402

SAMPLE = ROOT / "sample_data" / "county_2025.xlsx"


@pytest.fixture(scope="session")
def sample_county():
    """The bundled 320-branch sample county, every table read once per test session (worker)."""
    from scoring.reader import read_dataset
    from scoring.registry import make_registry

    reg = make_registry()
    return read_dataset([SAMPLE], reg.tables, list(reg.tables))

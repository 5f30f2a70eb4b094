import os
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


import pytest  # noqa: E402

SAMPLE = ROOT / "sample_data" / "county_2025.xlsx"


@pytest.fixture(scope="session")
def sample_county(tmp_path_factory):
    """The bundled 320-branch sample county, every table read once per test run.

    Reading it takes seconds. Under pytest-xdist the first worker to need it reads the workbook and leaves
    the Dataset pickled in the run's shared temporary folder (written whole, then renamed into place); a
    worker that needs it later loads that copy. Both workers may read the workbook when they ask at the
    same moment, as they did before. Without xdist it is read as always."""
    from scoring.reader import read_dataset
    from scoring.registry import make_registry

    def read():
        reg = make_registry()
        return read_dataset([SAMPLE], reg.tables, list(reg.tables))

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return read()
    # the workers' base folders (…/pytest-N/popen-gw0, …/popen-gw1) share the run's folder
    stat = SAMPLE.stat()
    shared = tmp_path_factory.getbasetemp().parent / f"sample_county-{stat.st_size}-{stat.st_mtime_ns}.pickle"
    if shared.is_file():
        with shared.open("rb") as f:
            return pickle.load(f)
    data = read()
    part = shared.with_name(f"{shared.name}.{worker}")
    part.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(part, shared)
    return data

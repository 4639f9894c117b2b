"""What a job's kernel imports: its notebooks' imports and a chart shown for the report, never the exporter.

nbconvert (and papermill, nbclient) belong to the runner's worker, which executes and exports the notebook.
Imported in a kernel they cost every job about two seconds and nothing else (helpers/report/figures.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUNNER_ONLY = ("nbconvert", "nbclient", "papermill")
IMPORT = re.compile(r"^(?:from\s+\S+\s+import\s+(?:\([^)]*\)|.+)|import\s+.+)$", re.M)


def notebook_imports() -> list[str]:
    """Every top-level import statement of the five notebooks' code cells."""
    found: list[str] = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                found += [m.group(0) for m in IMPORT.finditer("".join(cell["source"]))]
    return list(dict.fromkeys(found))


def test_the_notebooks_imports_and_a_shown_chart_load_no_runner_module(tmp_path):
    imports = notebook_imports()
    assert any("helpers" in line for line in imports), imports  # the parse found the notebooks' imports
    code = "\n".join([
        "import sys, matplotlib",
        "matplotlib.use('Agg')",
        *imports,
        "import matplotlib.pyplot as plt",
        "from pathlib import Path",
        "from helpers import report",
        "fig, ax = plt.subplots(); ax.bar(['a', 'b'], [1, 2])",
        # as every notebook shows a chart: saved among the job's artifacts and shown with its alt text
        f"report.Job(stem='chart', artifacts=Path({str(tmp_path)!r})).save_fig(fig, 'bars', alt='Bar chart: b is twice a.')",
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(RUNNER_ONLY)!r}))",
    ])
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-2000:]
    assert (tmp_path / "bars.png").is_file()

"""What a run will do, decided before any kernel starts: which notebooks, in what order, with which parameters.

Job order (:func:`run_order`, from the registry ``helpers.jobs``) and the parameter rules (declared types
read from each notebook's ``parameters`` cell, coercion of ``-p`` text, secret-like names refused, then the
ranges and choices of ``helpers.params``) live here alone, so execution and publishing know neither.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import config, jobs
from helpers import params as params_spec
from helpers.runner.results import RunError

NOTEBOOK_PATTERN = re.compile(r"^(\d{2})_[A-Za-z0-9_]+\.ipynb$")


@dataclass(frozen=True)
class Notebook:
    number: int
    stem: str
    path: Path


@dataclass(frozen=True)
class Layer:
    """Parameter values from somewhere other than ``-p`` (an account's ``[parameters]`` or ``[jobs.NN]``),
    set under the command line's: ``-p`` wins. ``job`` None: every notebook that declares the name."""

    where: str  # names the source in errors, e.g. "account acme [jobs.04]"
    values: dict[str, Any] = field(default_factory=dict)
    job: int | None = None


# ---------------------------------------------------------------------------------------------- selection


def default_notebooks_dir() -> Path:
    return config.project_root() / "notebooks"


def discover(notebooks_dir: Path) -> list[Notebook]:
    """Every ``NN_name.ipynb`` in the folder, by number."""
    if not notebooks_dir.is_dir():
        raise RunError(f"notebook folder {notebooks_dir} does not exist; pass --notebooks DIR")
    found = [
        Notebook(int(m.group(1)), path.stem, path)
        for path in sorted(notebooks_dir.glob("*.ipynb"))
        if (m := NOTEBOOK_PATTERN.match(path.name))
    ]
    if not found:
        raise RunError(f"no NN_name.ipynb notebooks in {notebooks_dir}; pass --notebooks DIR")
    return found


def select(notebooks: list[Notebook], jobs: Iterable[int] | None) -> list[Notebook]:
    if jobs is None:
        return notebooks
    wanted = list(dict.fromkeys(int(j) for j in jobs))
    by_number = {nb.number: nb for nb in notebooks}
    missing = [j for j in wanted if j not in by_number]
    if missing:
        have = ",".join(str(nb.number) for nb in notebooks)
        raise RunError(f"--jobs {','.join(map(str, missing))}: no such notebook (available: {have})")
    return [by_number[j] for j in sorted(wanted)]


def parse_jobs(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise RunError(f"--jobs {text!r}: give job numbers separated by commas, e.g. --jobs 1,3") from None


def run_order(selected: list[Notebook]) -> list[list[Notebook]]:
    """The selection in stages (``helpers.jobs.order``): producers before the jobs that consume their artifacts.

    A notebook plays the registry role of the job with its number (``NN`` of ``NN_name.ipynb``), so another
    folder of numbered notebooks (``--notebooks``) is ordered the same way; each stage keeps selection order.
    """
    def role(nb: Notebook) -> jobs.Job:
        try:
            return dataclasses.replace(jobs.job(nb.number), stem=nb.stem)
        except LookupError:
            return jobs.Job(nb.number, nb.stem)

    by_stem = {nb.stem: nb for nb in selected}
    position = {nb.stem: i for i, nb in enumerate(selected)}
    return [sorted((by_stem[j.stem] for j in stage), key=lambda nb: position[nb.stem])
            for stage in jobs.order(role(nb) for nb in selected)]


# ---------------------------------------------------------------------------------------------- settings


def check_settings() -> None:
    """Every setting the kernels will read, checked once here: a bad one is one line, not a traceback per kernel.

    ``config.preflight`` checks the keys (set, and made of characters a header can carry), the base URLs,
    the revision, the rate scale and the cache folder, each problem one line that says what to set.
    """
    problems = config.preflight(require=("KLAVIYO_API_KEY", "MAVERA_API_KEY"))
    if problems:
        raise RunError("\n".join(problems))


# ---------------------------------------------------------------------------------------------- parameters


def declared_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Name → {inferred_type_name, default, help} from the notebook's ``parameters`` cell."""
    import papermill

    try:
        return papermill.inspect_notebook(str(path))
    except Exception as exc:  # papermill raises bare ValueErrors for missing kernelspecs and the like
        raise RunError(f"cannot read the parameters of {path.name}: {exc}") from None


def coerce_parameter(name: str, value: Any, spec: dict[str, Any], where: str = "-p") -> Any:
    """Coerce one ``-p`` value to the declared type; a bad one is a RunError naming where it came from."""
    try:
        return params_spec.coerce_declared(name, value, spec)
    except params_spec.ParameterError as exc:
        raise RunError(f"{where} {name}: {exc}") from None


def plan_parameters(
    selected: list[Notebook],
    overrides: dict[str, Any],
    layers: Sequence[Layer] = (),
    known: Sequence[Notebook] = (),
) -> dict[str, dict[str, Any]]:
    """Per notebook, the values it gets, coerced: ``layers`` in order, then ``overrides`` (``-p``) on top.

    A ``-p`` name no selected notebook declares is an error. A layer's names are checked against ``known``
    (every notebook of the folder; default the selection): a scheduler runs one job per task, so an
    account-wide name that only other jobs declare is no typo, while one that no job declares, or a
    ``[jobs.NN]`` name job NN does not declare, is. Values are coerced and range-checked for the
    selection only, so one job's bad value fails that job alone.
    """
    known = list(known) or selected
    declared = {nb.stem: declared_parameters(nb.path) for nb in dict.fromkeys([*selected, *known])}
    for name in overrides:
        _refuse_secret(f"-p {name}", name)
        if not any(name in declared[nb.stem] for nb in selected):
            stems = ", ".join(nb.stem for nb in selected)
            raise RunError(
                f"-p {name}: none of the selected notebooks ({stems}) has a parameter named {name!r}; "
                f"list them with: papermill --help-notebook notebooks/NN_name.ipynb"
            )
    for layer in layers:
        _check_layer(layer, known, declared)
    planned: dict[str, dict[str, Any]] = {}
    for nb in selected:
        params = declared[nb.stem]
        values: dict[str, Any] = {}
        for layer in layers:
            if layer.job is None or layer.job == nb.number:
                values.update({name: coerce_parameter(name, value, params[name], layer.where)
                               for name, value in layer.values.items() if name in params})
        values.update({name: coerce_parameter(name, value, params[name])
                       for name, value in overrides.items() if name in params})
        planned[nb.stem] = values
    # Ranges and choices (helpers.params) are checked here too, so a bad value stops the run before any kernel.
    for stem, values in planned.items():
        wrong = params_spec.problems(stem, values)
        if wrong:
            raise RunError(f"{stem}: {wrong[0]}")
    return planned


def _refuse_secret(where: str, name: str) -> None:
    if params_spec.secret_like(name):
        raise RunError(f"{where}: secrets are never parameters; put it in .env or the environment instead")


def _check_layer(layer: Layer, known: Sequence[Notebook], declared: dict[str, dict[str, Any]]) -> None:
    """Every name of ``layer`` is a parameter of its job (``job`` set) or of some notebook (``job`` None)."""
    hint = "list them with: papermill --help-notebook notebooks/NN_name.ipynb"
    targets = [nb for nb in known if layer.job is None or nb.number == layer.job]
    if not targets:
        have = ",".join(str(nb.number) for nb in known)
        raise RunError(f"{layer.where}: there is no job {layer.job:02d} (jobs: {have}); fix the job's number")
    for name in layer.values:
        _refuse_secret(f"{layer.where} {name}", name)
        if not any(name in declared[nb.stem] for nb in targets):
            whose = f"{targets[0].stem} has no" if layer.job is not None else "no notebook has a"
            raise RunError(f"{layer.where} {name}: {whose} parameter named {name!r}; {hint}")

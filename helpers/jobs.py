"""The five jobs as data: which notebook each is, what it produces and what it consumes.

Job 01 saves the CLV-tier personas it created and its tier table; jobs 04 and 05 ask those personas in their
focus groups, and 04 weighs each persona by its tier's share of customers.
That dependency is written here once: the runner orders a run by it (:func:`order`), and notebooks and
helpers find the file by its name in :data:`ARTIFACTS` (:func:`artifact_path`), never by a literal path.
Persona *names* (the ``CLV tier: `` prefix that 04/05 fall back to) belong to job 01's analysis:
``helpers.analysis.customers.PERSONA_PREFIX``.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Job:
    """One notebook (``notebooks/<stem>.ipynb``) and the artifacts it hands to other jobs."""

    number: int
    stem: str
    produces: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()


JOBS: tuple[Job, ...] = (
    Job(1, "01_persona_enrichment", produces=("personas", "tiers")),
    Job(2, "02_flow_content_refresh"),
    Job(3, "03_segment_overlap"),
    Job(4, "04_product_affinity_focus_group", consumes=("personas", "tiers")),
    Job(5, "05_sms_vs_email_testing", consumes=("personas",)),
)

# Artifact name -> its path inside a run folder: ``<producer stem>/<file>``. personas.json is
# ``{tier name: persona id}``; tiers.csv the tier table, one row per tier (index ``tier``) with its ``size``
# in customers, which 04 weighs each tier persona's support by (docs/internals.md).
ARTIFACTS: dict[str, str] = {"personas": "01_persona_enrichment/personas.json",
                             "tiers": "01_persona_enrichment/tiers.csv"}


def job(stem_or_number: int | str) -> Job:
    """The job with this number (``4``, ``"04"``) or stem (``"04_product_affinity_focus_group"``)."""
    key = str(stem_or_number).strip()
    for candidate in JOBS:
        if key in (candidate.stem, str(candidate.number), f"{candidate.number:02d}"):
            return candidate
    known = ", ".join(j.stem for j in JOBS)
    raise LookupError(f"no job {stem_or_number!r}; the jobs are {known}")


def producer(artifact: str) -> Job:
    """The job that saves ``artifact``."""
    for candidate in JOBS:
        if artifact in candidate.produces:
            return candidate
    raise LookupError(f"no job produces {artifact!r}; artifacts: {', '.join(ARTIFACTS)}")


def artifact_path(run_dir: str | Path, name: str) -> Path:
    """Where artifact ``name`` lives in ``run_dir`` (e.g. ``<run dir>/01_persona_enrichment/personas.json``)."""
    try:
        relative = ARTIFACTS[name]
    except KeyError:
        raise LookupError(f"no artifact {name!r}; artifacts: {', '.join(ARTIFACTS)}") from None
    return Path(run_dir) / relative


def order(jobs: Iterable[Job]) -> list[list[Job]]:
    """The jobs in stages: every stage after the stages holding the producers of what it consumes.

    Jobs within a stage do not depend on each other and may run in parallel; each stage is sorted by
    number. Only the given jobs count: a consumer whose producer is not among them runs in the first
    stage and finds the artifact where an earlier run left it (or does without it). A cycle is a
    ValueError (the registry is data; a bad edit should fail loudly, not hang a run).
    """
    chosen = {j.stem: j for j in jobs}
    graph: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for j in chosen.values():
        makers = {p.stem for p in chosen.values() if p is not j and set(p.produces) & set(j.consumes)}
        graph.add(j.stem, *makers)
    try:
        graph.prepare()
    except graphlib.CycleError as exc:
        raise ValueError(f"jobs depend on each other in a cycle: {' -> '.join(exc.args[1])}") from None
    stages = []
    while graph.is_active():
        ready = sorted((chosen[stem] for stem in graph.get_ready()), key=lambda j: j.number)
        stages.append(ready)
        graph.done(*(j.stem for j in ready))
    return stages

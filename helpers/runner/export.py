"""The code-free HTML report of one executed notebook (nbconvert's ``lab`` template)."""

from __future__ import annotations

import copy

from helpers import report


def export_html(nb, *, title: str) -> str:
    """A code-free report: no inputs, no prompts, no parameter cells, no record outputs; images inline."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

    class DropRecordsAndEmptyCells(Preprocessor):
        def preprocess(self, nb, resources):
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = [o for o in cell.outputs if report.RECORD_MIME not in o.get("data", {})]
            nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
            return nb, resources

    exporter = HTMLExporter(
        template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            enabled=True,
            remove_cell_tags={"parameters", "injected-parameters", "remove-cell"},
            remove_input_tags={"remove-input", "hide-input"},
            remove_all_outputs_tags={"remove-output"},
        ),
        enabled=True,
    )
    exporter.register_preprocessor(DropRecordsAndEmptyCells(enabled=True), enabled=True)
    body, _ = exporter.from_notebook_node(copy.deepcopy(nb), resources={"metadata": {"name": title}})
    return body

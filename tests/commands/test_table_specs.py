"""The paper tables in ``recipes/tables/``: every spec loads at its paper scale and at each of
its scales, every cell's config resolves, the rows name registered methods, and the published
numbers are percentages of rows and noise settings the spec has. Plans only: nothing trains,
and nothing here imports torch."""

from pathlib import Path

import pytest
import yaml

from ignoise.config.training import DATASET_NAMES
from ignoise.experiments.spec import TABLES_DIR, load_spec, parse_setting
from ignoise.experiments.sweep_plan import plan_sweep
from ignoise.methods import METHODS

SPECS = sorted(TABLES_DIR.glob("*.yaml"))
#: Every table and figure of the two papers (the GAL paper, the GSS poster).
PAPER_TABLES = (*(f"gal_table{i}" for i in range(1, 7)), "gal_figure1", "gal_figure4",
                "gss_table1", "gss_table2", "gss_bias", "gss_frameworks")


def _scales(path: Path) -> list:
    return [None, *(yaml.safe_load(path.read_text()).get("scales") or {})]


SCALED = [pytest.param(path, scale, id=f"{path.stem}-{scale or 'paper'}")
          for path in SPECS for scale in _scales(path)]


def test_every_table_and_figure_has_a_spec():
    assert set(PAPER_TABLES) <= {path.stem for path in SPECS}


@pytest.mark.parametrize("path, scale", SCALED)
def test_spec_plans_at_each_scale(path, scale, tmp_path):
    spec = load_spec(path, scale)
    assert len({cell.folder for cell in spec.cells()}) == len(spec.cells())
    # Every row x dataset x noise setting resolves its config and gets past its warm-up; the
    # seed changes neither, so one seed is planned (three times faster).
    plans = plan_sweep(spec.with_overrides({}, seeds=spec.seeds[:1]), tmp_path)
    assert plans, f"{path.stem} at scale {scale}: no cell to run"
    assert {p.status for p in plans} == {"new"}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_rows_name_registered_methods(path):
    spec = load_spec(path)
    unknown = [(r.name, r.method) for r in spec.rows
               if r.method is not None and r.method not in METHODS]
    assert not unknown, f"rows with unregistered methods: {unknown}"


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_published_numbers_are_percentages_of_the_spec_rows(path):
    spec = load_spec(path)
    rows = {r.name for r in spec.rows}
    for dataset, by_row in spec.published.items():
        assert dataset in DATASET_NAMES, f"{path.stem}: published dataset {dataset!r}"
        for row, by_setting in by_row.items():
            assert row in rows, f"{path.stem}: published row {row!r} is not a row"
            for setting, value in by_setting.items():
                parse_setting(setting, f"{path.stem}: published {dataset} {row}")
                assert isinstance(value, float) and 0.0 < value <= 100.0, (
                    f"{path.stem}: published {dataset} {row} {setting}: {value!r}")


@pytest.mark.parametrize("name", PAPER_TABLES)
def test_digits_scale_runs_on_the_digits_only(name):
    spec = load_spec(name, "digits")
    assert {cell.dataset for cell in spec.cells()} == {"digits"}
    assert spec.published_from.get("digits") in DATASET_NAMES
    if spec.published:  # its numbers are those of a dataset the paper reports
        assert spec.published_from["digits"] in spec.published


def test_ablation_specs_run_what_the_ablation_grid_ran():
    """gal_table4, gal_table5 and gal_figure4 replace ``recipes/gal_ablations.py``'s grid:
    the same variants, samplings, thresholds and noise settings."""
    grid = pytest.importorskip("ignoise.experiments.gal_ablations")
    table4, table5 = load_spec("gal_table4"), load_spec("gal_table5")
    assert {r.name: r.flags["variant"] for r in table4.rows} == grid.TABLE4
    assert {r.name: r.flags["sampling"] for r in table5.rows} == grid.TABLE5
    figure4 = load_spec("gal_figure4")
    assert {r.flags["variant"] for r in figure4.rows} == {"ab_agreement"}
    assert tuple(r.flags["agreement_threshold"] for r in figure4.rows) == grid.TAUS
    for spec in (table4, table5, figure4):
        assert spec.noise == grid.SETTINGS["default"]
        assert load_spec(spec.name, "digits").noise == grid.SETTINGS["digits"]

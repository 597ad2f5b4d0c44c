"""National indicators over a group of firms, each read through its own questionnaire version."""

from __future__ import annotations

import pytest

from assess.analytics.indicators import FirmAnswers, national_indicators
from assess.questionnaire.compile import compile_spec
from tests.conftest import extreme_answers


def answers(catalog, sector, version, *, best, **changes):
    spec = compile_spec(catalog.compose(sector, version))
    out = extreme_answers(spec, best=best)
    out.update(changes)
    return out


def by_id(values):
    return {v.id: v for v in values}


def test_indicators_follow_each_version_and_leave_out_firms_they_do_not_cover(catalog):
    firms = [
        # version 2: one firm with a shop, at the top; one software firm without one.
        FirmAnswers(
            "general",
            2,
            2021,
            answers(catalog, "general", 2, best=True, **{"core.ctx.production": "own"}),
        ),
        FirmAnswers(
            "general",
            2,
            2021,
            answers(catalog, "general", 2, best=True, **{"core.ctx.production": "none"}),
        ),
        # version 1: at the bottom.
        FirmAnswers("general", 1, 2019, answers(catalog, "general", 1, best=False)),
    ]
    got = by_id(national_indicators(firms))
    nc = got["key_process_nc_rate"]
    # The software firm has no production link: it is left out of the NC rate.
    assert (nc.n, nc.left_out) == (2, 1)
    assert nc.versions == [1, 2]
    assert nc.definition is not None and "自有生产车间" in nc.definition[0]
    # Version 2 reads the general module's derived rate (replaces_core ... by): the top firm's
    # rate is where that curve reaches 1; the version-1 firm is at its worst answer (0).
    v2 = compile_spec(catalog.compose("general", 2))
    rate = v2.questions[v2.index["general.prod.key_process_nc_rate"]]
    assert nc.value == pytest.approx(rate.curve_x[rate.curve_y.index(1.0)] / 2)
    dm = got["digital_management"]
    # v2: all five functions digital; v1: the ERP rung. The national caliber is 全部工业企业,
    # so version 2 leaves the software firm (no production of its own or outsourced) out.
    assert (dm.n, dm.left_out) == (2, 1)
    assert dm.value == pytest.approx(50.0)
    plm = got["plm_uptake"]  # version 2 asks PLM on its own; version 1 read PDM
    assert plm.n == 2 and plm.value == pytest.approx(50.0)
    assert got["pdm_uptake"].versions == [2] and got["pdm_uptake"].n == 1


def test_references_keep_their_caliber(catalog):
    firms = [FirmAnswers("food", 2, 2021, answers(catalog, "food", 2, best=True))]
    got = by_id(national_indicators(firms))
    refs = got["digital_management"].references
    assert refs and all(r.caliber.zh and r.date for r in refs)

"""Region loading and enterprise records, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from assess.accounts import uscc
from assess.accounts.enterprises import create_enterprise, update_enterprise
from assess.errors import Conflict, Invalid
from assess.questionnaire.compile import shipped_catalog
from assess.questionnaire.region import load_region
from assess.store.models import Cluster, Enterprise, Park, Region
from tests.db import factories


def test_loading_the_region_twice_changes_nothing(engine):
    profile = shipped_catalog().regions["jilin_city"]
    with Session(engine) as s:
        load_region(s, profile)
        s.commit()
        load_region(s, profile)
        s.commit()
        assert len(s.exec(select(Region)).all()) == 1
        assert len(s.exec(select(Cluster)).all()) == 9
        assert len(s.exec(select(Park)).all()) == len(profile.parks)
        assert {c.code for c in s.exec(select(Cluster))} >= {"auto", "carbon_fibre"}


def test_an_enterprise_is_stored_with_its_normalised_credit_code(engine):
    with Session(engine) as s:
        code = uscc.make("9122020012345678")
        ent = factories.enterprise(s, uscc=code.lower())
        s.commit()
        assert s.get(Enterprise, ent.id).uscc == code


def test_every_problem_with_a_new_enterprise_is_reported_and_nothing_is_written(engine):
    with Session(engine) as s:
        factories.region(s)
        with pytest.raises(Invalid) as exc:
            create_enterprise(
                s,
                name="x",
                uscc="91350100M000100Y40",
                sector="shipbuilding",
                cluster_id=99999,
                staff_band="huge",
                contact_email="not-an-address",
            )
        codes = {p.code for p in exc.value.problems}
        assert codes == {"name", "uscc_check", "sector", "cluster", "staff_band", "contact_email"}
        assert all(p.zh and p.en for p in exc.value.problems)
        assert s.exec(select(Enterprise)).all() == []


def test_a_credit_code_can_be_registered_once(engine):
    with Session(engine) as s:
        first = factories.enterprise(s)
        with pytest.raises(Invalid) as exc:
            factories.enterprise(s, uscc=first.uscc)
        assert exc.value.first.code == "uscc_taken"


def test_an_enterprise_user_may_edit_contact_fields_only(engine):
    with Session(engine) as s:
        ent = factories.enterprise(s)
        update_enterprise(s, ent, 1, {"contact_name": "王工"}, contact_only=True)
        assert ent.contact_name == "王工" and ent.version == 2
        with pytest.raises(Invalid) as exc:
            update_enterprise(s, ent, 2, {"name": "改名"}, contact_only=True)
        assert exc.value.first.code == "field_not_editable"
        assert ent.name != "改名"


def test_a_stale_enterprise_form_is_refused_with_the_stored_values(engine):
    with Session(engine) as s:
        ent = factories.enterprise(s)
        update_enterprise(s, ent, 1, {"contact_phone": "0432-1234567"}, contact_only=True)
        with pytest.raises(Conflict) as exc:
            update_enterprise(s, ent, 1, {"contact_phone": "13800000000"}, contact_only=True)
        assert exc.value.current.value["contact_phone"] == "0432-1234567"
        assert ent.contact_phone == "0432-1234567"

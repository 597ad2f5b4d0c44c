"""The administrator's services on SQLite and PostgreSQL: searching lists, picking an
enterprise by name, the sector and cluster warning, and changing a user's role and scope."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, select

from assess.accounts.enterprises import (
    PICK_LIMIT,
    enterprise_list,
    pick_enterprise,
    search_term,
    sector_cluster_notice,
    sector_names,
)
from assess.accounts.users import (
    AccountError,
    change_role_and_scope,
    create_user,
    scope_stamp,
    user_list,
)
from assess.errors import Conflict, Invalid
from assess.store.models import CertificationBody, User, UserCluster
from tests.db import factories

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "Spring-harvest-42"


def test_a_search_term_with_a_control_character_is_refused_by_name():
    for raw in ["甲化工\x00", "\x00", "a\x07b", "x\x1by"]:
        with pytest.raises(Invalid) as caught:
            search_term(raw)
        assert caught.value.first.code == "search_control_character"
        assert "控制字符" in caught.value.first.zh and "U+00" in caught.value.first.en
    assert search_term("  甲化工 \t") == "甲化工"  # surrounding blanks are no fault
    assert search_term("x" * 300) == "x" * 100


def test_the_enterprise_search_finds_what_was_typed_on_both_databases(engine):
    with Session(engine) as s:
        factories.enterprise(s, name="松花江石化有限公司")
        factories.enterprise(s, name="百分之百%化工有限公司")
        other = factories.enterprise(
            s, name="江城汽车零部件有限公司", sector="auto", cluster="auto"
        )
        s.commit()
        names = [e.name for e in s.exec(enterprise_list(search_term(" 石化 ")))]
        assert names == ["松花江石化有限公司"]
        assert [e.name for e in s.exec(enterprise_list("%"))] == ["百分之百%化工有限公司"]
        by_code = list(s.exec(enterprise_list(other.uscc[-6:].lower())))
        assert [e.id for e in by_code] == [other.id]
        assert len(list(s.exec(enterprise_list("")))) == 3


def test_an_enterprise_is_picked_by_its_name_and_a_vague_name_says_how_many_match(engine):
    with Session(engine) as s:
        one = factories.enterprise(s, name="吉化精细化工有限公司")
        factories.enterprise(s, name="吉化精细化工有限公司二厂")
        lone = factories.enterprise(s, name="龙潭食品有限公司", sector="food", cluster="eco_food")
        for n in range(PICK_LIMIT + 2):
            factories.enterprise(s, name=f"批量测试企业{n:02d}")
        s.commit()
        assert pick_enterprise(s, "", "龙潭") == lone.id  # the only one containing it
        assert pick_enterprise(s, "", "吉化精细化工有限公司") == one.id  # an exact name
        assert pick_enterprise(s, "", lone.uscc.lower()) == lone.id  # a credit code
        assert pick_enterprise(s, str(lone.id), "吉化") == lone.id  # the one chosen wins
        assert pick_enterprise(s, "", "  ") is None
        with pytest.raises(Invalid) as caught:
            pick_enterprise(s, "", "吉化")
        assert caught.value.first.code == "enterprise_ambiguous"
        assert "有 2 家企业" in caught.value.first.zh
        with pytest.raises(Invalid) as caught:
            pick_enterprise(s, "", "批量测试企业")
        assert f"{PICK_LIMIT}+ enterprises match" in caught.value.first.en
        with pytest.raises(Invalid) as caught:
            pick_enterprise(s, "", "没有这家")
        assert caught.value.first.code == "enterprise_no_match"
        with pytest.raises(Invalid) as caught:
            pick_enterprise(s, "", "吉化\x00")
        assert caught.value.first.code == "search_control_character"


def test_a_sector_unusual_for_its_cluster_is_a_warning_and_the_usual_one_none(engine):
    with Session(engine) as s:
        clusters = factories.region(s)
        fine_chem = clusters["fine_chem"].id
        warning = sector_cluster_notice(s, "pharma", fine_chem)
        assert warning is not None and warning.code == "sector_cluster_mismatch"
        assert "医药" in warning.zh and "石化化工" in warning.zh and "精细化工" in warning.zh
        assert "Pharmaceuticals" in warning.en
        assert sector_cluster_notice(s, "petrochemicals", fine_chem) is None
        assert sector_cluster_notice(s, "pharma", None) is None
        assert sector_cluster_notice(s, "no_such_sector", fine_chem) is None
    assert sector_names()["petrochemicals"] == ("石化化工", "Petrochemicals and chemicals")


def _user(s: Session, name: str, **kw: object) -> User:
    return create_user(s, username=name, password=PASSWORD, hasher=FAST, **kw)  # type: ignore[arg-type]


def test_the_user_search_reads_usernames_and_display_names_literally(engine):
    with Session(engine) as s:
        _user(s, "wang-admin", role="admin", display_name="王管理")
        _user(s, "li_admin", role="admin", display_name="李100%")
        s.commit()
        assert [u.username for u in s.exec(user_list("WANG"))] == ["wang-admin"]
        assert [u.username for u in s.exec(user_list("王"))] == ["wang-admin"]
        assert [u.username for u in s.exec(user_list("_"))] == ["li_admin"]
        assert [u.username for u in s.exec(user_list("%"))] == ["li_admin"]


def test_a_role_and_its_scope_change_under_the_rules_of_creation(engine, caplog):
    with Session(engine) as s:
        ent = factories.enterprise(s)
        clusters = factories.region(s)
        body = CertificationBody(name="审核机构甲", code="SJ")
        s.add(body)
        s.flush()
        _user(s, "boss", role="admin")
        user = _user(s, "zhang", role="enterprise", enterprise_id=ent.id)
        s.commit()
        uid = user.id

        stamp = scope_stamp(s, user)
        ids = [clusters["fine_chem"].id, clusters["auto"].id]
        boss = s.exec(select(User).where(User.username == "boss")).one()
        with caplog.at_level("INFO", logger="assess.audit"):
            change_role_and_scope(
                s,
                user,
                role="cluster_manager",
                enterprise_id=None,
                cert_body_id=None,
                cluster_ids=[*ids, ids[0]],
                seen_stamp=stamp,
                by=boss,
            )
        s.commit()
        assert "role and scope of zhang changed by boss: enterprise|" in caplog.text
        stored = s.get(User, uid)
        assert (stored.role, stored.enterprise_id) == ("cluster_manager", None)
        rows = s.exec(select(UserCluster.cluster_id).where(UserCluster.user_id == uid)).all()
        assert sorted(rows) == sorted(ids)

        # A form shown before that change is refused, and nothing is written.
        with pytest.raises(Conflict):
            change_role_and_scope(
                s,
                stored,
                role="certifier",
                enterprise_id=None,
                cert_body_id=body.id,
                cluster_ids=[],
                seen_stamp=stamp,
            )
        s.rollback()
        assert s.get(User, uid).role == "cluster_manager"

        # The rules of creation: a certifier needs a body, and gets no clusters.
        with pytest.raises(AccountError) as caught:
            change_role_and_scope(
                s,
                s.get(User, uid),
                role="certifier",
                enterprise_id=None,
                cert_body_id=None,
                cluster_ids=ids,
                seen_stamp=scope_stamp(s, s.get(User, uid)),
            )
        assert set(caught.value.codes) == {"cert_body_required", "scope_not_allowed:cluster_ids"}
        s.rollback()

        current = s.get(User, uid)
        change_role_and_scope(
            s,
            current,
            role="certifier",
            enterprise_id=None,
            cert_body_id=body.id,
            cluster_ids=[],
            seen_stamp=scope_stamp(s, current),
        )
        s.commit()
        assert s.get(User, uid).cert_body_id == body.id
        assert s.exec(select(UserCluster).where(UserCluster.user_id == uid)).all() == []


def test_the_last_active_administrator_keeps_the_role(engine):
    with Session(engine) as s:
        ent = factories.enterprise(s)
        boss = _user(s, "boss", role="admin")
        s.commit()
        with pytest.raises(AccountError) as caught:
            change_role_and_scope(
                s,
                boss,
                role="enterprise",
                enterprise_id=ent.id,
                cert_body_id=None,
                cluster_ids=[],
                seen_stamp=scope_stamp(s, boss),
            )
        assert caught.value.codes == ["last_admin_role"]
        s.rollback()
        _user(s, "deputy", role="admin")
        s.commit()
        boss = s.exec(select(User).where(User.username == "boss")).one()
        change_role_and_scope(
            s,
            boss,
            role="enterprise",
            enterprise_id=ent.id,
            cert_body_id=None,
            cluster_ids=[],
            seen_stamp=scope_stamp(s, boss),
        )
        s.commit()
        assert s.exec(select(User.role).where(User.username == "boss")).one() == "enterprise"

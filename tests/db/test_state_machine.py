"""The assessment's state machine, walked in full: every status × action × role, through the one
service that moves a status (lifecycle.transition), on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from assess.accounts.users import create_user
from assess.assessment import lifecycle as svc
from assess.errors import Forbidden, Locked
from assess.store.models import Assessment, AuditEvent, CertificationBody, Role, StatusChange
from assess.store.states import (
    EDITABLE,
    REPORTED,
    TRANSITIONS,
    Action,
    Status,
    actions_for,
    allowed,
)
from tests.db import factories
from tests.web.conftest import FAST


def test_the_table_says_what_each_status_allows():
    assert Status.draft.editable and Status.returned.editable
    assert not any(Status(s).editable for s in Status if s not in EDITABLE)
    assert not Status.draft.reported and all(Status(s).reported for s in REPORTED)
    assert Status.rejected.reported  # the firm's own submission stands
    assert Status.submitted.withdrawable and not Status.under_review.withdrawable
    assert actions_for(Status.under_review, Role.certifier) == [
        Action.return_,
        Action.certify,
        Action.reject,
    ]
    assert actions_for(Status.certified, Role.admin) == []
    # Every status but the final ones can be left; every status can be reached.
    reachable = {Status.draft} | {t.target for t in TRANSITIONS.values()}
    assert reachable == set(Status)
    leaving = set().union(*(t.sources for t in TRANSITIONS.values()))
    assert leaving == set(Status) - {Status.certified, Status.rejected}


def test_every_status_action_and_role(engine):
    with Session(engine, expire_on_commit=False) as s:
        ent = factories.enterprise(s)
        cluster = factories.region(s)["fine_chem"]
        body = CertificationBody(name="机构", code="JG")
        s.add(body)
        s.flush()
        scope = {
            Role.enterprise: {"enterprise_id": ent.id},
            Role.certifier: {"cert_body_id": body.id},
            Role.cluster_manager: {"cluster_ids": [cluster.id]},
            Role.admin: {},
        }
        users = {
            r: create_user(
                s,
                username=f"u-{r.value}",
                password="correct-horse-battery",
                hasher=FAST,
                role=r,
                **scope[r],
            )
            for r in Role
        }
        a = svc.start_assessment(s, ent, 2020, by_user=None, version=1)
        s.commit()
        walked = 0
        for status, action, role in itertools.product(Status, Action, Role):
            s.execute(sa.update(Assessment).where(Assessment.id == a.id).values(status=status))
            s.commit()
            s.refresh(a)
            before = s.exec(select(sa.func.count()).select_from(AuditEvent)).one()
            expected = allowed(action, status, role)
            try:
                svc.transition(
                    s,
                    a,
                    action,
                    users[role].id,
                    reason="理由",
                    records={k: 1 for k in TRANSITIONS[action].records},
                )
            except Locked:
                assert not expected and status not in TRANSITIONS[action].sources
                s.rollback()
            except Forbidden:
                assert not expected and role not in TRANSITIONS[action].roles
                s.rollback()
            else:
                assert expected, (status, action, role)
                assert a.status == TRANSITIONS[action].target
                change = s.exec(select(StatusChange).order_by(StatusChange.id.desc())).first()
                assert (change.from_status, change.to_status) == (status, a.status)
                event = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
                assert event.action == f"assessment.{action.value}"
                assert event.before == {"status": status}
                assert set(event.after) == {"status", *TRANSITIONS[action].records}
                assert s.exec(select(sa.func.count()).select_from(AuditEvent)).one() == before + 1
                s.commit()
            walked += 1
        assert walked == len(Status) * len(Action) * len(Role)


@pytest.mark.parametrize("action", [a for a in Action if TRANSITIONS[a].reason_required])
def test_a_transition_that_needs_a_reason_refuses_none(engine, action):
    from assess.errors import Invalid

    with Session(engine, expire_on_commit=False) as s:
        ent = factories.enterprise(s)
        a = svc.start_assessment(s, ent, 2020, by_user=None, version=1)
        source = sorted(TRANSITIONS[action].sources)[0]
        s.execute(sa.update(Assessment).where(Assessment.id == a.id).values(status=source))
        s.refresh(a)
        with pytest.raises(Invalid):
            svc.transition(s, a, action, None, reason=" ")

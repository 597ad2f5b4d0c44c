"""Cut-down autosave routes, to measure how far the stack is from the autosave targets.

Not part of the product: each factory builds the real app and puts in front of its autosave
route a variant that does less, so that ``bench/http.py --factory`` can measure what the
framework, the session and the database cost before the product does anything of its own:

* ``checked_write`` - who is asking, whether the assessment is theirs and still a draft, the
                      value check and the versioned write, then commit; it answers the new
                      version only (no status line, preview, progress or dependent questions);
* ``raw_write``     - the session cookie and one raw UPDATE of the answer's version: no user
                      lookup, no scope check, no value check, no version check. Nothing the
                      product may ship; it is the floor under every autosave.

    python bench/http.py --factory bench.floors:checked_write
    python bench/http.py --factory bench.floors:raw_write
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from assess.accounts.access import fillable_assessment
from assess.assessment.lifecycle import save_answer, spec_of
from assess.forms import value_from_form
from web import create_app
from web.deps import FormFields, in_session, signed_in_user

PATH = "/assessments/{assessment_id}/answers/{question}"


def _version_field(question: str, version: Any) -> HTMLResponse:
    """The one thing the load clients read from an autosave answer."""
    return HTMLResponse(f'<input id="v-{question.replace(".", "--")}" value="{version}">')


def _in_front(app: FastAPI, endpoint: Any) -> FastAPI:
    app.router.add_api_route(PATH, endpoint, methods=["POST"])
    app.router.routes.insert(0, app.router.routes.pop())
    return app


def checked_write() -> FastAPI:
    """The autosave route without anything it renders."""

    async def save(
        request: Request, assessment_id: int, question: str, fields: FormFields
    ) -> HTMLResponse:
        def work(db: Session) -> HTMLResponse:
            user = signed_in_user(request, db)
            a = fillable_assessment(db, user, assessment_id)
            spec = spec_of(a)
            value = value_from_form(spec.questions[spec.index[question]], fields)
            base = int(fields["version"][0])
            saved = save_answer(db, a, question, value, "", base_version=base, by_user=user.id)
            db.commit()
            return _version_field(question, saved.version)

        return await in_session(request, work)

    return _in_front(create_app(), save)


def raw_write() -> FastAPI:
    """The session cookie and one UPDATE: the floor."""
    bump = sa.text(
        "UPDATE answer SET version = version + 1"
        " WHERE assessment_id = :a AND question = :q RETURNING version"
    )

    async def save(request: Request, assessment_id: int, question: str) -> HTMLResponse:
        await request.body()
        if request.session.get("uid") is None:
            return HTMLResponse("not signed in", status_code=401)
        with request.app.state.no_wait.begin() as conn:
            version = conn.execute(bump, {"a": assessment_id, "q": question}).scalar()
        return _version_field(question, version)

    return _in_front(create_app(), save)

"""Accounts on SQLite and PostgreSQL: passwords, creating users in scope, and throttled sign-in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session, select

from assess.accounts import users as accounts
from assess.accounts.users import (
    AccountError,
    authenticate,
    change_password,
    check_password_policy,
    create_user,
    hash_password,
    needs_rehash,
    reset_password,
    set_active,
    verify_password,
)
from assess.store.models import (
    CertificationBody,
    Cluster,
    Enterprise,
    Region,
    Role,
    SignInFailure,
    User,
    UserCluster,
)

T0 = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
GOOD = "correct horse battery"
ADDR = "203.0.113.7"
#: A cheap argon2id for the many sign-ins of the throttling tests; production keeps the defaults,
#: which the password tests use.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class World:
    cluster_a: int
    cluster_b: int
    enterprise: int
    cert_body: int


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


@pytest.fixture
def world(session: Session) -> World:
    session.add(Region(id="js-wx", name_zh="无锡", name_en="Wuxi", content_hash="0" * 64))
    session.flush()  # no relationships are declared, so flush order is ours to set
    a = Cluster(
        region_id="js-wx", code="A", name_zh="集群甲", name_en="A", default_sector="general"
    )
    b = Cluster(region_id="js-wx", code="B", name_zh="集群乙", name_en="B", default_sector="auto")
    session.add_all([a, b])
    session.flush()
    assert a.id is not None and b.id is not None
    ent = Enterprise(
        name="无锡某机械有限公司",
        uscc="91320200MA1234567X",
        sector="general",
        cluster_id=a.id,
        staff_band="20_299",
    )
    body = CertificationBody(name="某评定机构", code="MP")
    session.add_all([ent, body])
    session.commit()
    assert ent.id is not None and body.id is not None
    return World(a.id, b.id, ent.id, body.id)


def add_admin(session: Session, username: str = "root", password: str = GOOD) -> User:
    user = create_user(session, username=username, password=password, role=Role.admin, hasher=FAST)
    session.commit()
    return user


def sign_in(
    session: Session, username: str, password: str, at: datetime, address: str = ADDR
) -> accounts.SignInResult:
    result = authenticate(session, username, password, address, now=at, hasher=FAST)
    session.commit()
    return result


def failure_row(session: Session, key: str) -> SignInFailure | None:
    session.expire_all()
    return session.get(SignInFailure, key)


def as_utc(value: datetime | None) -> datetime | None:
    """A time read back, as aware UTC (SQLite gives back naive UTC times)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def count(session: Session, model: type) -> int:
    return session.exec(select(sa.func.count()).select_from(model)).one()


# --- passwords -------------------------------------------------------------------------------


def test_a_password_hash_is_argon2id_and_verifies():
    h = hash_password(GOOD)
    assert h.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # argon2-cffi's defaults
    assert verify_password(h, GOOD)
    assert not needs_rehash(h)


def test_the_same_password_hashes_differently_each_time():
    assert hash_password(GOOD) != hash_password(GOOD)


def test_a_wrong_password_does_not_verify():
    assert verify_password(hash_password(GOOD), "correct horse battery!") is False


@pytest.mark.parametrize(
    "bad_hash",
    [
        "",
        "plain text",
        "$argon2id$v=19$m=65536,t=3,p=4$not-base64$at-all",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ",
    ],
)
def test_a_malformed_hash_gives_false_rather_than_an_error(bad_hash):
    assert verify_password(bad_hash, GOOD) is False
    assert needs_rehash(bad_hash) is True


def test_a_hash_made_with_weaker_parameters_needs_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(GOOD)
    assert verify_password(weak, GOOD)
    assert needs_rehash(weak)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1234", "password_too_short"),
        ("x" * 150 + "y" * 51, "password_too_long"),
        ("zhangsan-2025", "password_contains_username"),
        ("ZhangSan", "password_contains_username"),
        ("my ZHANGSAN pass", "password_contains_username"),
        ("aaaaaaaaaaaa", "password_one_character"),
        ("", "password_too_short"),
    ],
)
def test_each_password_rule_is_reported_with_its_code(password, code):
    problems = check_password_policy(password, "zhangsan")
    assert code in [p.code for p in problems]
    assert all(p.zh and p.en for p in problems)


def test_a_password_of_exactly_ten_or_two_hundred_mixed_characters_passes():
    assert check_password_policy("abcdefghi1", "zhangsan") == []
    assert check_password_policy(("ab1" * 70)[:200], "zhangsan") == []


def test_a_password_breaking_several_rules_reports_each_of_them():
    codes = [p.code for p in check_password_policy("aaa", "aaa")]
    assert codes == ["password_too_short", "password_contains_username", "password_one_character"]


# --- creating users --------------------------------------------------------------------------


def test_an_admin_is_created_with_a_lower_case_name_and_a_hashed_password(session):
    user = create_user(session, username="Wang.Li_01", password=GOOD, role="admin")
    session.commit()
    assert user.id is not None
    assert user.username == "wang.li_01"
    assert user.password_hash != GOOD and verify_password(user.password_hash, GOOD)
    assert user.is_active and user.locale == "zh_CN"


def test_create_user_reports_every_problem_at_once_and_writes_nothing(session, world):
    with pytest.raises(AccountError) as caught:
        create_user(
            session,
            username="x y",
            password="bbbbbbb",
            role=Role.enterprise,
            enterprise_id=world.enterprise + 1000,
            cluster_ids=[world.cluster_a],
            display_name="名" * 101,
            locale="chinese",
        )
    assert caught.value.codes == [
        "username_format",
        "enterprise_not_found",
        "scope_not_allowed:cluster_ids",
        "display_name_too_long",
        "locale_invalid",
        "password_too_short",
        "password_one_character",
    ]
    assert all(p.zh and p.en for p in caught.value.problems)
    session.commit()
    assert count(session, User) == 0
    assert count(session, UserCluster) == 0


def test_an_unknown_role_is_refused_alongside_password_problems(session):
    with pytest.raises(AccountError) as caught:
        create_user(session, username="someone", password="short", role="superuser")
    assert caught.value.codes == ["role_unknown", "password_too_short"]
    assert "superuser" in caught.value.problems[0].en


@pytest.mark.parametrize(
    "username", ["ab", "a" * 65, "张三", "bob smith", "bob@example.com", " bob", ""]
)
def test_a_badly_formed_username_is_refused(session, username):
    with pytest.raises(AccountError) as caught:
        create_user(session, username=username, password=GOOD, role=Role.admin)
    assert "username_format" in caught.value.codes


def test_a_name_taken_between_the_check_and_the_insert_gets_the_same_message(session, monkeypatch):
    """Two requests creating one username at once: the loser meets the unique index, and gets
    the usual message with the session still usable, not an error page."""
    add_admin(session, "wangfang")
    session.commit()
    monkeypatch.setattr(accounts, "_username_problems", lambda _s, _name: [])  # the race window
    with pytest.raises(AccountError) as caught:
        create_user(session, username="WangFang", password=GOOD, role=Role.admin)
    assert caught.value.codes == ["username_taken"]
    create_user(session, username="zhaolei", password=GOOD, role=Role.admin)
    session.commit()
    assert count(session, User) == 2


def test_usernames_of_three_and_sixty_four_characters_are_accepted(session):
    create_user(session, username="a.b", password=GOOD, role=Role.admin)
    create_user(session, username="a" * 64, password=GOOD, role=Role.admin)
    session.commit()
    assert count(session, User) == 2


def test_a_username_differing_only_in_case_is_taken(session):
    add_admin(session, "LiMing")
    with pytest.raises(AccountError) as caught:
        create_user(session, username="liming", password=GOOD, role=Role.admin)
    assert caught.value.codes == ["username_taken"]
    with pytest.raises(AccountError):
        create_user(session, username="LIMING", password=GOOD, role=Role.admin)


def test_an_enterprise_user_belongs_to_an_existing_enterprise(session, world):
    user = create_user(
        session,
        username="ent1",
        password=GOOD,
        role=Role.enterprise,
        enterprise_id=world.enterprise,
    )
    session.commit()
    assert user.enterprise_id == world.enterprise and user.cert_body_id is None


def test_an_enterprise_user_needs_an_enterprise_and_nothing_else(session, world):
    with pytest.raises(AccountError) as caught:
        create_user(session, username="ent1", password=GOOD, role=Role.enterprise)
    assert caught.value.codes == ["enterprise_required"]
    with pytest.raises(AccountError) as caught:
        create_user(
            session,
            username="ent1",
            password=GOOD,
            role=Role.enterprise,
            enterprise_id=world.enterprise,
            cert_body_id=world.cert_body,
        )
    assert caught.value.codes == ["scope_not_allowed:cert_body_id"]


def test_a_certifier_belongs_to_an_existing_certification_body(session, world):
    user = create_user(
        session, username="cert1", password=GOOD, role="certifier", cert_body_id=world.cert_body
    )
    session.commit()
    assert user.cert_body_id == world.cert_body and user.enterprise_id is None
    with pytest.raises(AccountError) as caught:
        create_user(session, username="cert2", password=GOOD, role="certifier")
    assert caught.value.codes == ["cert_body_required"]
    with pytest.raises(AccountError) as caught:
        create_user(
            session,
            username="cert2",
            password=GOOD,
            role="certifier",
            cert_body_id=world.cert_body + 99,
        )
    assert caught.value.codes == ["cert_body_not_found"]


def test_a_cluster_manager_gets_a_row_for_each_of_its_clusters(session, world):
    user = create_user(
        session,
        username="mgr",
        password=GOOD,
        role=Role.cluster_manager,
        cluster_ids=[world.cluster_b, world.cluster_a, world.cluster_b],
    )
    session.commit()
    rows = session.exec(select(UserCluster.cluster_id).where(UserCluster.user_id == user.id)).all()
    assert sorted(rows) == sorted([world.cluster_a, world.cluster_b])


def test_a_cluster_manager_needs_at_least_one_existing_cluster(session, world):
    with pytest.raises(AccountError) as caught:
        create_user(session, username="mgr", password=GOOD, role=Role.cluster_manager)
    assert caught.value.codes == ["clusters_required"]
    with pytest.raises(AccountError) as caught:
        create_user(
            session,
            username="mgr",
            password=GOOD,
            role=Role.cluster_manager,
            cluster_ids=[world.cluster_a, 9001],
        )
    assert caught.value.codes == ["cluster_not_found"]
    assert "9001" in caught.value.problems[0].en
    session.commit()
    assert count(session, User) == 0


def test_an_admin_may_not_be_given_any_scope(session, world):
    with pytest.raises(AccountError) as caught:
        create_user(
            session,
            username="root",
            password=GOOD,
            role=Role.admin,
            enterprise_id=world.enterprise,
            cert_body_id=world.cert_body,
            cluster_ids=[world.cluster_a],
        )
    assert caught.value.codes == [
        "scope_not_allowed:enterprise_id",
        "scope_not_allowed:cert_body_id",
        "scope_not_allowed:cluster_ids",
    ]


# --- changing passwords and accounts ---------------------------------------------------------


def test_changing_the_password_replaces_the_hash_and_records_when(session):
    user = add_admin(session)
    change_password(session, user, GOOD, "a brand new secret", now=T0, hasher=FAST)
    session.commit()
    session.refresh(user)
    assert verify_password(user.password_hash, "a brand new secret")
    assert not verify_password(user.password_hash, GOOD)
    assert as_utc(user.password_changed_at) == T0


def test_changing_the_password_needs_the_right_current_password(session):
    user = add_admin(session)
    before = user.password_hash
    with pytest.raises(AccountError) as caught:
        change_password(session, user, "not my password", "a brand new secret", hasher=FAST)
    assert caught.value.codes == ["current_password_wrong"]
    assert user.password_hash == before


def test_the_new_password_must_differ_from_the_current_one(session):
    user = add_admin(session)
    with pytest.raises(AccountError) as caught:
        change_password(session, user, GOOD, GOOD, hasher=FAST)
    assert caught.value.codes == ["password_unchanged"]


def test_the_new_password_must_meet_the_policy_and_all_faults_are_listed(session):
    user = add_admin(session)
    with pytest.raises(AccountError) as caught:
        change_password(session, user, "wrong", "wrong", hasher=FAST)
    assert caught.value.codes == [
        "current_password_wrong",
        "password_too_short",
        "password_unchanged",
    ]


def test_wrong_current_passwords_are_throttled_like_failed_sign_ins(session):
    """Someone at a signed-in browser cannot try passwords at will: wrong current passwords
    count against the account, the delays and the lock of sign-in apply, and while the account
    is held back not even the right password is checked."""
    user = add_admin(session, "wangwei")
    at = T0
    for n in range(1, accounts.ACCOUNT_LOCK_AT + 1):
        at += timedelta(seconds=61)  # past each delay
        with pytest.raises(AccountError) as caught:
            change_password(session, user, f"guess {n}", "a brand new secret", now=at, hasher=FAST)
        assert caught.value.codes == ["current_password_wrong"], n
        assert failure_row(session, "user:wangwei").failures == n
    with pytest.raises(accounts.TooManyAttempts) as held:
        change_password(session, user, GOOD, "a brand new secret", now=at, hasher=FAST)
    assert held.value.status == 429 and held.value.retry_after == 15 * 60
    assert held.value.codes == ["too_many_attempts"] and "15 分钟" in held.value.first.zh
    assert sign_in(session, "wangwei", GOOD, at).status == "locked"  # one count, one lock
    session.refresh(user)
    assert verify_password(user.password_hash, GOOD)  # unchanged


def test_the_right_current_password_clears_the_accounts_count(session):
    user = add_admin(session, "wangwei")
    sign_in(session, "wangwei", "wrong password", T0)
    sign_in(session, "wangwei", "wrong password", T0)
    with pytest.raises(AccountError) as caught:  # right password, a new one too short
        change_password(session, user, GOOD, "short", now=T0, hasher=FAST)
    assert caught.value.codes == ["password_too_short"]
    assert failure_row(session, "user:wangwei") is None
    change_password(session, user, GOOD, "a brand new secret", now=T0, hasher=FAST)
    session.commit()
    assert failure_row(session, "user:wangwei") is None
    assert sign_in(session, "wangwei", "a brand new secret", T0).status == "ok"


def test_an_admin_reset_applies_the_policy_and_lifts_the_lock(session):
    user = add_admin(session)
    with pytest.raises(AccountError) as caught:
        reset_password(session, user, "root-password")
    assert caught.value.codes == ["password_contains_username"]

    at = T0
    for _ in range(accounts.ACCOUNT_LOCK_AT):
        at += timedelta(seconds=61)
        assert sign_in(session, "root", "guess guess", at).status == "bad_credentials"
    assert sign_in(session, "root", GOOD, at).status == "locked"

    reset_password(session, user, "a fresh start 42", now=at, hasher=FAST)
    session.commit()
    assert sign_in(session, "root", "a fresh start 42", at).status == "ok"


def test_a_disabled_user_cannot_sign_in_even_with_the_right_password(session):
    add_admin(session, "keeper")
    user = add_admin(session, "someone")
    set_active(session, user, False)
    session.commit()
    result = sign_in(session, "someone", GOOD, T0)
    assert result.status == "inactive" and result.user is None
    assert "停用" in result.message_zh and "disabled" in result.message_en
    assert sign_in(session, "someone", "wrong password", T0).status == "bad_credentials"
    set_active(session, user, True)
    session.commit()
    assert sign_in(session, "someone", GOOD, T0).status == "ok"


def test_the_last_active_admin_cannot_be_disabled(session):
    first = add_admin(session, "first")
    second = add_admin(session, "second")
    set_active(session, first, False)
    session.commit()
    with pytest.raises(AccountError) as caught:
        set_active(session, second, False)
    assert caught.value.codes == ["last_admin"]
    session.refresh(second)
    assert second.is_active


# --- signing in ------------------------------------------------------------------------------


def test_the_right_password_signs_in_whatever_the_case_of_the_username(session):
    user = add_admin(session, "wangwei")
    result = sign_in(session, "  WangWei ", GOOD, T0)
    assert result.status == "ok" and result.ok
    assert result.user is not None and result.user.id == user.id
    assert result.retry_after == 0
    assert result.message_zh and result.message_en


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(session):
    add_admin(session, "wangwei")
    wrong = sign_in(session, "wangwei", "not the password", T0)
    unknown = sign_in(session, "nobody", "not the password", T0, address="198.51.100.1")
    assert wrong == unknown
    assert wrong.status == "bad_credentials" and wrong.user is None and wrong.retry_after == 0
    assert wrong.message_zh == "用户名或密码错误"
    assert wrong.message_en == "Wrong username or password."


def test_the_first_two_failures_impose_no_delay(session):
    add_admin(session, "wangwei")
    sign_in(session, "wangwei", "wrong password", T0)
    sign_in(session, "wangwei", "wrong password", T0)
    assert sign_in(session, "wangwei", GOOD, T0).status == "ok"


def test_from_the_third_failure_each_delay_doubles_up_to_a_minute(session):
    add_admin(session, "wangwei")
    at = T0
    waits = []
    for n in range(1, accounts.ACCOUNT_LOCK_AT):
        assert sign_in(session, "wangwei", "wrong password", at).status == "bad_credentials"
        if n >= accounts.ACCOUNT_DELAY_FROM:
            probe = sign_in(session, "wangwei", GOOD, at)  # refused: it is too soon
            assert probe.status == "locked" and probe.user is None
            waits.append(probe.retry_after)
            at += timedelta(seconds=probe.retry_after)
    assert waits == [1, 2, 4, 8, 16, 32, 60]


def test_an_attempt_during_the_delay_is_refused_until_the_delay_is_over(session):
    add_admin(session, "wangwei")
    for _ in range(3):
        sign_in(session, "wangwei", "wrong password", T0)
    refused = sign_in(session, "wangwei", GOOD, T0 + timedelta(milliseconds=500))
    assert refused.status == "locked" and refused.retry_after == 1
    assert refused.user is None
    assert "1 秒" in refused.message_zh and "1 second." in refused.message_en
    assert sign_in(session, "wangwei", GOOD, T0 + timedelta(seconds=1)).status == "ok"


def fail_until_locked(session: Session, username: str, start: datetime) -> datetime:
    """Fail ``ACCOUNT_LOCK_AT`` times, waiting out each delay; the time of the last failure."""
    at = start
    for n in range(1, accounts.ACCOUNT_LOCK_AT + 1):
        at += timedelta(seconds=accounts.account_delay_seconds(n - 1))
        assert sign_in(session, username, f"wrong {n:02d} password", at).status == (
            "bad_credentials"
        ), n
    return at


def test_ten_failures_lock_the_account_for_fifteen_minutes(session):
    add_admin(session, "wangwei")
    last = fail_until_locked(session, "wangwei", T0)
    locked = sign_in(session, "wangwei", "wrong password", last)
    assert locked.status == "locked"
    assert locked.retry_after == 15 * 60
    assert "15 分钟" in locked.message_zh and "15 minutes" in locked.message_en


def test_a_locked_account_refuses_the_right_password_without_extending_the_lock(session):
    add_admin(session, "wangwei")
    last = fail_until_locked(session, "wangwei", T0)
    row_before = failure_row(session, "user:wangwei")
    assert row_before is not None
    before = (row_before.failures, as_utc(row_before.locked_until))

    later = last + timedelta(minutes=5)
    refused = sign_in(session, "wangwei", GOOD, later)
    assert refused.status == "locked" and refused.user is None
    assert refused.retry_after == 10 * 60

    row_after = failure_row(session, "user:wangwei")
    assert row_after is not None
    assert (row_after.failures, as_utc(row_after.locked_until)) == before
    assert sign_in(session, "wangwei", GOOD, last + timedelta(minutes=14, seconds=59)).status == (
        "locked"
    )


def test_the_lock_lifts_once_fifteen_minutes_have_passed(session):
    add_admin(session, "wangwei")
    last = fail_until_locked(session, "wangwei", T0)
    result = sign_in(session, "wangwei", GOOD, last + timedelta(minutes=15))
    assert result.status == "ok"
    assert failure_row(session, "user:wangwei") is None


def test_after_the_lock_lifts_the_count_starts_again(session):
    add_admin(session, "wangwei")
    last = fail_until_locked(session, "wangwei", T0)
    after = last + timedelta(minutes=15)
    assert sign_in(session, "wangwei", "wrong password", after).status == "bad_credentials"
    row = failure_row(session, "user:wangwei")
    assert row is not None and row.failures == 1 and row.locked_until is None


def test_an_unknown_username_is_throttled_like_a_real_one(session):
    add_admin(session, "wangwei")
    real_last = fail_until_locked(session, "wangwei", T0)
    ghost_last = fail_until_locked(session, "ghost", T0 + timedelta(hours=1))
    real = sign_in(session, "wangwei", "x", real_last + timedelta(seconds=30))
    ghost = sign_in(session, "ghost", "x", ghost_last + timedelta(seconds=30))
    assert real == ghost
    assert real.status == "locked" and real.retry_after == 15 * 60 - 30


def test_failures_older_than_the_window_no_longer_count(session):
    add_admin(session, "wangwei")
    sign_in(session, "wangwei", "wrong password", T0)
    sign_in(session, "wangwei", "wrong password", T0 + timedelta(minutes=1))
    at = T0 + timedelta(minutes=16)
    assert sign_in(session, "wangwei", "wrong password", at).status == "bad_credentials"
    row = failure_row(session, "user:wangwei")
    assert row is not None and row.failures == 1
    assert sign_in(session, "wangwei", GOOD, at).status == "ok"


def test_a_success_clears_the_account_count_but_not_the_address_count(session):
    add_admin(session, "wangwei")
    sign_in(session, "wangwei", "wrong password", T0)
    sign_in(session, "wangwei", "wrong password", T0)
    assert sign_in(session, "wangwei", GOOD, T0).status == "ok"
    assert failure_row(session, "user:wangwei") is None
    address = failure_row(session, f"addr:{ADDR}")
    assert address is not None and address.failures == 2

    # Had the count survived, this third failure would already impose a delay.
    sign_in(session, "wangwei", "wrong password", T0)
    sign_in(session, "wangwei", "wrong password", T0)
    assert sign_in(session, "wangwei", GOOD, T0).status == "ok"


def fail_from_one_address(session: Session, failures: int, at: datetime) -> datetime:
    """``failures`` wrong passwords from ADDR, each against another account (a spraying attack,
    or a whole office behind one proxy mistyping); the time of the last."""
    for n in range(failures):
        at += timedelta(seconds=5)
        sign_in(session, f"user{n:02d}", "wrong password", at)
    return at


def test_twenty_nine_failures_from_one_address_answer_at_once(session):
    add_admin(session, "wangwei")
    at = fail_from_one_address(session, accounts.ADDRESS_SLOW_FROM - 2, T0)
    last = sign_in(session, "someone", "wrong password", at)
    assert last.status == "bad_credentials" and last.retry_after == 0
    assert sign_in(session, "wangwei", GOOD, at).status == "ok"


def test_from_thirty_failures_an_address_gets_slower_answers_to_wrong_passwords(session):
    add_admin(session, "wangwei")
    at = fail_from_one_address(session, accounts.ADDRESS_SLOW_FROM - 1, T0)
    thirtieth = sign_in(session, "someone", "wrong password", at)
    assert (thirtieth.status, thirtieth.retry_after) == ("slowed", 1)
    assert thirtieth.message_zh and thirtieth.message_en
    assert sign_in(session, "someone", "wrong password", at).retry_after == 2
    assert sign_in(session, "another", "wrong password", at).retry_after == 3
    assert sign_in(session, "wangwei", "wrong password", at).retry_after == 4
    row = failure_row(session, f"addr:{ADDR}")
    assert row is not None and row.locked_until is None  # an address is never locked


def test_the_slowing_never_exceeds_its_cap(session):
    at = fail_from_one_address(session, accounts.ADDRESS_SLOW_FROM + 60, T0)
    assert sign_in(session, "user00", "wrong password", at).retry_after == 30
    assert accounts.address_delay_seconds(10_000) == accounts.ADDRESS_DELAY_CAP_S


def test_a_right_password_from_a_busy_address_signs_in_at_once(session):
    """Behind a proxy everyone shares one address: one person's (or an attacker's) failures
    there must not keep the others out."""
    add_admin(session, "wangwei")
    add_admin(session, "lina")
    at = fail_from_one_address(session, accounts.ADDRESS_SLOW_FROM + 20, T0)
    for _ in range(9):  # and one account worn down to the edge of its own lock
        sign_in(session, "wangwei", "wrong password", at + timedelta(minutes=1))
    result = sign_in(session, "lina", GOOD, at + timedelta(seconds=1))
    assert (result.status, result.retry_after) == ("ok", 0)
    assert result.session_token


def test_the_account_lock_still_holds_from_a_busy_address(session):
    add_admin(session, "wangwei")
    at = fail_from_one_address(session, accounts.ADDRESS_SLOW_FROM, T0)
    for n in range(accounts.ACCOUNT_LOCK_AT):
        at += timedelta(seconds=accounts.account_delay_seconds(n))
        assert sign_in(session, "wangwei", "wrong password", at).status == "slowed"
    assert sign_in(session, "wangwei", GOOD, at + timedelta(seconds=1)).status == "locked"


def test_an_address_lock_left_from_before_refuses_nobody(session):
    add_admin(session, "wangwei")
    session.add(
        SignInFailure(
            key=f"addr:{ADDR}",
            failures=30,
            first_at=T0,
            locked_until=T0 + timedelta(minutes=15),
        )
    )
    session.commit()
    assert sign_in(session, "wangwei", GOOD, T0 + timedelta(minutes=1)).status == "ok"


def test_a_sign_in_needs_a_timezone_aware_time(session):
    with pytest.raises(ValueError, match="timezone-aware"):
        authenticate(session, "x", "y", ADDR, now=datetime(2025, 1, 1))


def test_a_successful_sign_in_upgrades_a_hash_made_with_old_parameters(session):
    user = add_admin(session, "wangwei")
    user.password_hash = FAST.hash(GOOD)
    session.add(user)
    session.commit()
    assert authenticate(session, "wangwei", GOOD, ADDR, now=T0).status == "ok"  # default hasher
    session.commit()
    session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, GOOD)


def test_a_successful_sign_in_leaves_no_throttle_rows_behind(session):
    add_admin(session, "wangwei")
    assert sign_in(session, "wangwei", GOOD, T0).status == "ok"
    assert count(session, SignInFailure) == 0


def test_a_successful_sign_in_clears_away_counts_whose_time_is_over(session):
    add_admin(session, "wangwei")
    sign_in(session, "old", "wrong password", T0, address="198.51.100.1")
    later = T0 + accounts.FAILURE_WINDOW + timedelta(seconds=1)
    sign_in(session, "recent", "wrong password", later, address="198.51.100.2")
    assert sign_in(session, "wangwei", GOOD, later).status == "ok"
    assert failure_row(session, "user:old") is None
    assert failure_row(session, "addr:198.51.100.1") is None
    assert failure_row(session, "user:recent") is not None  # still within its window


def test_purging_removes_only_rows_whose_window_and_lock_are_over(session):
    add_admin(session, "wangwei")
    sign_in(session, "old", "wrong password", T0, address="198.51.100.1")
    last = fail_until_locked(session, "wangwei", T0 + timedelta(minutes=10))
    purged = accounts.purge_sign_in_failures(session, now=last + timedelta(minutes=5))
    session.commit()
    assert purged == 2  # user:old and addr:198.51.100.1
    assert failure_row(session, "user:wangwei") is not None
    assert failure_row(session, f"addr:{ADDR}") is not None


class HeldHasher(PasswordHasher):
    """FAST's parameters, but a password check waits until the test lets it go: a sign-in
    caught in the middle of its argon2 check."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checking = threading.Event()
        self.go = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.checking.set()
        assert self.go.wait(30), "the test never let the check go"
        return super().verify(hash, password)


def attempt_in_thread(engine, username, password, hasher, out: list) -> threading.Thread:
    def run() -> None:
        with Session(engine) as s:
            out.append(authenticate(s, username, password, ADDR, now=T0, hasher=hasher).status)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def failures_now(engine, key: str) -> int:
    """A throttle row's count, read in a transaction of its own (ended before returning)."""
    with Session(engine) as s:
        row = s.get(SignInFailure, key)
        return 0 if row is None else row.failures


def test_no_transaction_is_open_while_a_password_is_checked(engine, session):
    """While one sign-in checks its password, other attempts and other writers go ahead (on
    SQLite nothing holds the write lock, on PostgreSQL no throttle row stays locked), and the
    attempt in progress already counts, so that guesses sent in parallel are throttled too.
    The right password then takes its count back."""
    add_admin(session, "wangwei")
    held = HeldHasher()
    first: list[str] = []
    checking = attempt_in_thread(engine, "wangwei", GOOD, held, first)
    try:
        assert held.checking.wait(30)
        second: list[str] = []
        other = attempt_in_thread(engine, "wangwei", "wrong two", FAST, second)
        other.join(10)  # were a lock held, this would wait for the first sign-in
        other_done = not other.is_alive()
        with Session(engine) as writer:
            add_admin(writer, "lisi")
        in_progress = failures_now(engine, "user:wangwei")
    finally:
        held.go.set()
        checking.join(30)
    assert other_done and second == ["bad_credentials"]
    assert in_progress == 2  # the attempt being checked, and the wrong one
    assert first == ["ok"]
    assert failures_now(engine, "user:wangwei") == 0  # a success clears the account's count
    assert failures_now(engine, f"addr:{ADDR}") == 1  # the wrong one only


def test_a_password_changed_while_it_was_checked_does_not_sign_in(engine, session):
    user_id = add_admin(session, "wangwei").id
    session.close()
    held = HeldHasher()
    result: list[str] = []
    checking = attempt_in_thread(engine, "wangwei", GOOD, held, result)
    try:
        assert held.checking.wait(30)
        with Session(engine) as admin:
            reset_password(admin, admin.get(User, user_id), "a fresh start 42", hasher=FAST)
            admin.commit()
    finally:
        held.go.set()
        checking.join(30)
    assert result == ["bad_credentials"]
    assert sign_in(session, "wangwei", "a fresh start 42", T0).status == "ok"

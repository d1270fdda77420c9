"""Browser sessions and their time-outs, on both back-ends (the browser test
covers the cookie; this covers the clock)."""

from __future__ import annotations

from datetime import datetime, timedelta
from services.auth import (
    SESSION_MAX_HOURS,
    add_user,
    authenticate,
    end_session,
    resume_session,
    start_session,
    token_digest,
    update_user,
)


def test_session_lives_until_idle_timeout_end_or_sign_out(store):
    add_user(store, username="quantri", password="mat-khau-dai-1", role="admin")
    admin = store.with_principal(authenticate(store, "quantri", "mat-khau-dai-1"))
    add_user(admin, username="xa", password="mat-khau-dai-2", role="commune_editor", commune="Đăk Ruồng")
    p = authenticate(store, "xa", "mat-khau-dai-2")
    t0 = datetime(2026, 11, 23, 8, 0)
    token = start_session(store, p, now=t0)
    assert store.get_web_session(token_digest(token))["username"] == "xa"
    assert store.get_web_session(token) is None  # the store holds the hash, not the token
    # used every 20 minutes, it lives on (each use moves last_seen) ...
    now = datetime.now()
    token = start_session(store, p)
    for k in range(1, 4):
        assert resume_session(store, token, now=now + timedelta(minutes=20 * k), minutes=30) == p
    # ... idle for longer than the time-out, it ends
    assert resume_session(store, token, now=now + timedelta(minutes=60 + 31), minutes=30) is None
    # never past its end, even when used
    t2 = start_session(store, p)
    assert resume_session(store, t2, now=now + timedelta(hours=SESSION_MAX_HOURS, seconds=1), minutes=10**6) is None
    # sign-out ends it
    t3 = start_session(store, p)
    assert resume_session(store, t3) == p
    end_session(store, t3)
    assert resume_session(store, t3) is None
    # an account disabled by an admin loses its live sessions at once
    t4 = start_session(store, p)
    uid = int(store.users_frame().set_index("username").loc["xa", "id"])
    update_user(admin, uid, expected_version=1, active=False)
    assert resume_session(store, t4) is None
    assert resume_session(store, "not-a-token") is None and resume_session(store, None) is None

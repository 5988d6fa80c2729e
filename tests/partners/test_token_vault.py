"""Credentials tokens we issue are safe to type on a command line."""

from __future__ import annotations

from apps.partners import token_vault


def test_tokens_we_issue_never_start_with_a_dash():
    # secrets.token_urlsafe starts with '-' once in 64 draws: 5,000 draws would hold ~78 of them.
    tokens = [token_vault.new_token() for _ in range(5000)]
    assert not [t for t in tokens if t.startswith("-")]
    assert {len(t) for t in tokens} == {43}
    assert len(set(tokens)) == len(tokens)

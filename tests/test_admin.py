"""The admin shows stacks and their story, never their secrets, and acts through the API."""

import pytest

from hastexo_lab import crypto
from hastexo_lab import lifecycle as lc

from .factories import make_stack

pytestmark = pytest.mark.django_db


def test_changelist_and_change_page(admin_client):
    stack = make_stack(lc.CREATE_COMPLETE, private_key_encrypted=crypto.encrypt("SECRET-KEY-TEXT"),
                       password_encrypted=crypto.encrypt("SECRET-PASSWORD"))
    listing = admin_client.get("/admin/hastexo_lab/stack/")
    assert listing.status_code == 200 and stack.name in listing.content.decode()
    page = admin_client.get(f"/admin/hastexo_lab/stack/{stack.pk}/change/").content.decode()
    assert "made by a test" in page
    assert "SECRET" not in page and stack.private_key_encrypted not in page

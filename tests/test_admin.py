"""The admin shows stacks and their story, never their secrets, and acts through the API."""

import hashlib

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


def test_a_stacks_page_shows_its_providers_by_name_and_digest_never_their_templates(admin_client):
    """The launch candidates carry each provider's template and environment:
    the page names the providers, and tells templates apart by a digest only."""
    template = "heat_template_version: 2016-10-14\ndescription: THE-AUTHORS-TEMPLATE-TEXT\n"
    stack = make_stack(lc.CREATE_COMPLETE, template=template, environment="ENVIRONMENT-TEXT: 1", providers=[
        {"name": "cloud-a", "capacity": 10, "template": template, "environment": "ENVIRONMENT-TEXT: 1"},
        {"name": "cloud-b", "capacity": -1, "template": template, "environment": ""}])
    page = admin_client.get(f"/admin/hastexo_lab/stack/{stack.pk}/change/").content.decode()
    assert "THE-AUTHORS-TEMPLATE-TEXT" not in page and "ENVIRONMENT-TEXT" not in page
    assert "heat_template_version" not in page
    digest = "sha256:" + hashlib.sha256(template.encode()).hexdigest()[:12]
    assert f"cloud-a (capacity 10, template {digest}, environment sha256:" in page
    assert f"cloud-b (capacity -1, template {digest}, environment -)" in page

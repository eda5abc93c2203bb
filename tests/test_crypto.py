"""Secrets at rest: encrypted, decryptable across key rotation, and a clear error otherwise."""

import pytest

from hastexo_lab import crypto


def test_round_trip_and_no_plaintext():
    token = crypto.encrypt("-----BEGIN OPENSSH PRIVATE KEY-----\nabc")
    assert "PRIVATE KEY" not in token
    assert crypto.decrypt(token) == "-----BEGIN OPENSSH PRIVATE KEY-----\nabc"
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_key_rotation(settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"encryption_keys": ["old-key-0123456789abcdef"]}}
    old = crypto.encrypt("password")
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"encryption_keys": ["new-key-0123456789abcdef",
                                                                    "old-key-0123456789abcdef"]}}
    assert crypto.decrypt(old) == "password"
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"encryption_keys": ["new-key-0123456789abcdef"]}}
    with pytest.raises(crypto.DecryptionError, match="encryption_keys"):
        crypto.decrypt(old)


def test_default_key_follows_secret_key(settings):
    token = crypto.encrypt("password")
    settings.SECRET_KEY = "another-secret-key-for-this-test"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)

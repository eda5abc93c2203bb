"""Encryption at rest for stack secrets (private keys, passwords).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``. The keys come from
``encryption_keys`` (first one encrypts, all decrypt, so keys can be rotated)
or, by default, from Django's SECRET_KEY.
"""

import base64
import functools
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from . import conf

log = logging.getLogger(__name__)


def _fernet_key(secret):
    # Any secret string becomes a valid Fernet key; the context string keeps
    # this key apart from anything else derived from the same secret.
    digest = hashlib.sha256(b"hastexo_lab secrets v1\0" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@functools.cache
def _cipher():
    from django.conf import settings

    secrets = conf.get_settings().encryption_keys or (settings.SECRET_KEY,)
    return MultiFernet([Fernet(_fernet_key(s)) for s in secrets])


def forget_keys():
    _cipher.cache_clear()


def encrypt(text):
    """Ciphertext (str) for ``text``; empty stays empty."""
    if not text:
        return ""
    return _cipher().encrypt(text.encode()).decode()


class DecryptionError(Exception):
    """A secret cannot be decrypted with any configured key."""


def decrypt(token):
    """The plaintext of ``token``; empty stays empty. Raises DecryptionError."""
    if not token:
        return ""
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "a stack secret cannot be decrypted: was encryption_keys (or SECRET_KEY) changed "
            "without keeping the old key in the list?") from None

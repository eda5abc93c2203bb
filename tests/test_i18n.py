"""Translations: a learner whose language is German gets the lab in German,
from the page and its handlers to the browser's own messages, whether the
runtime is the workbench or shaped like the LMS; the catalogs are where the
platform's tooling looks, complete for learners, and current with the code."""

import gettext
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import translation
from django.utils.translation import get_language, to_locale

from hastexo_lab import i18n
from hastexo_lab.block import LabBlock

from .helpers import ROOT
from .test_block import SSH

PACKAGE = Path(ROOT) / "hastexo_lab"
# What a learner sees, in English and German: the page, a handler's reply
# from the block's i18n service, one from api's, one of the browser's own.
PAGE = ("Preparing your lab environment...", "Ihre Laborumgebung wird vorbereitet …")
NO_CHECKS = ("This lab has no progress checks.", "Dieses Labor hat keine Fortschrittsprüfungen.")
ABSENT = ("Your lab environment does not exist yet.", "Ihre Laborumgebung gibt es noch nicht.")
BROWSER = ("Trying again...", "Neuer Versuch …")
INLINE_CATALOG = f"window.{i18n.JS_NAMESPACE} = "


@pytest.fixture
def lab(client, workbench, workbench_settings, settings):
    """The workbench behind Django's LocaleMiddleware, as the LMS is: the
    learner's language (the LMS sets this cookie from their preference) is
    the request's."""
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
                      "django.middleware.locale.LocaleMiddleware")
    settings.MIDDLEWARE = middleware
    yield client
    # The middleware leaves the last request's language active in this thread.
    translation.deactivate()


def speak(client, language):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    return client


def page(client):
    response = client.get(f"/scenario/{SSH}/?student=alice")
    assert response.status_code == 200
    return response.content.decode()


def handler(client, name, data=None):
    usage = re.search(r"data-usage=['\"]([^'\"]+\.hastexo_lab\.[^'\"]+)['\"]", page(client)).group(1)
    response = client.post(f"/handler/{usage}/{name}/?student=alice", json.dumps(data or {}),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_german_learner_gets_the_lab_in_german(lab):
    html = page(speak(lab, "de"))
    assert PAGE[1] in html and PAGE[0] not in html
    assert "Labor zurücksetzen" in html
    # The block's strings through the runtime's i18n service; api's by Django's.
    assert handler(lab, "check_progress")["message"] == NO_CHECKS[1]
    assert handler(lab, "status")["message"] == ABSENT[1]
    # The browser's catalog is in the page, in the block's namespace.
    assert INLINE_CATALOG in html
    catalog = html[html.index(INLINE_CATALOG):]
    assert json.dumps(BROWSER[1])[1:-1] in catalog


def test_an_english_learner_gets_english_and_no_catalog(lab):
    html = page(speak(lab, "en"))
    assert PAGE[0] in html and INLINE_CATALOG not in html
    assert handler(lab, "check_progress")["message"] == NO_CHECKS[0]
    assert handler(lab, "status")["message"] == ABSENT[0]


def test_the_studio_editor_gets_the_catalog_too(lab):
    html = speak(lab, "de").get(f"/scenario/{SSH}/studio_view/?student=author").content.decode()
    assert INLINE_CATALOG in html and "Nicht gespeichert" in html


# -- the browser's catalog ---------------------------------------------------------

def node(script):
    if shutil.which("node") is None:
        message = "the JavaScript catalog tests need node (as `make test` does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout


def test_the_browser_catalog_translates_in_its_namespace_only():
    with translation.override("de"):
        catalog = i18n.javascript_catalog("de_DE")
    probe = ("const window = globalThis;\n" + catalog +
             f"const ns = window.{i18n.JS_NAMESPACE};\n"
             "console.log(JSON.stringify({one: ns.gettext(" + json.dumps(BROWSER[0]) + "),"
             " unknown: ns.gettext('Not in the catalog'), plural: ns.ngettext('a lab', 'labs', 2),"
             " global: typeof window.gettext}));")
    assert json.loads(node(probe)) == {"one": BROWSER[1], "unknown": "Not in the catalog", "plural": "labs",
                                       "global": "undefined"}


@pytest.mark.parametrize("script", ["lab.js", "studio.js"])
def test_the_scripts_take_their_strings_from_the_blocks_namespace(script):
    source = (PACKAGE / "static" / "js" / script).read_text()
    assert f"var gettext = window.{i18n.JS_NAMESPACE} ? window.{i18n.JS_NAMESPACE}.gettext" in source
    german = gettext.translation(i18n.JS_DOMAIN, i18n.LOCALE_DIR, ["de"])
    strings = re.findall(r'\bgettext\("((?:[^"\\]|\\.)*)"\)', source)
    assert strings and all(german.gettext(s) != s for s in strings), strings


# -- shaped like the LMS -------------------------------------------------------------

class PlatformShapedI18nService:
    """The LMS's i18n service (xmodule.modulestore.django.XBlockI18nService),
    as the platform has it: a block's catalogs pulled by atlas
    (``pull_xblock_translations``) into ``<atlas root>/<module>/``, domain
    ``django``, else those in its package's ``translations/``, domain
    ``text``, else Django's translation; and the URL of the block's compiled
    JavaScript catalog (``compile_xblock_translations``) where there is one,
    ``js/xblock.v1-i18n/<module>/<locale>.js`` under STATICI18N_ROOT."""

    atlas_root = statici18n_root = None  # set by the test

    def translator(self):
        locale = to_locale(get_language() or django_settings.LANGUAGE_CODE)
        pulled = self.atlas_root / "hastexo_lab"
        domain, folder = ("django", pulled) if pulled.is_dir() else ("text", PACKAGE / "translations")
        try:
            return gettext.translation(domain, folder, [locale])
        except OSError:
            return translation

    def __getattr__(self, name):
        return getattr(self.translator(), name)

    def get_javascript_i18n_catalog_url(self, block):
        module = getattr(block, "unmixed_class", type(block)).__module__.split(".")[0]
        name = f"js/xblock.v1-i18n/{module}/{to_locale(get_language())}.js"
        return django_settings.STATIC_URL + name if (self.statici18n_root / name).exists() else None


@pytest.fixture
def lms_shaped(lab, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(PlatformShapedI18nService, "atlas_root", tmp_path / "conf/plugins-locale/xblock.v1")
    monkeypatch.setattr(PlatformShapedI18nService, "statici18n_root", tmp_path / "static")
    settings.WORKBENCH = {**settings.WORKBENCH, "services": {**settings.WORKBENCH.get("services", {}),
                                                             "i18n": f"{__name__}.PlatformShapedI18nService"}}
    return tmp_path


def test_in_an_lms_the_bundled_catalogs_serve_until_a_pull_brings_others(lms_shaped, lab):
    # Nothing pulled for the block: the service falls back to Django's
    # translation, which has the block's catalogs as an installed app's.
    assert handler(speak(lab, "de"), "check_progress")["message"] == NO_CHECKS[1]
    # `atlas pull translations/*/hastexo_lab/conf/locale:hastexo_lab`, from a
    # translations repository that holds the block's catalogs as they are here.
    shutil.copytree(PACKAGE / "conf" / "locale", lms_shaped / "conf/plugins-locale/xblock.v1/hastexo_lab")
    service = PlatformShapedI18nService()
    with translation.override("de"):
        assert isinstance(service.translator(), gettext.GNUTranslations)
        assert service.gettext(NO_CHECKS[0]) == NO_CHECKS[1]
    html = page(lab)
    assert PAGE[1] in html and INLINE_CATALOG in html
    assert handler(lab, "check_progress")["message"] == NO_CHECKS[1]


def test_in_an_lms_the_platforms_compiled_catalog_replaces_the_bundled_one(lms_shaped, lab):
    pulled = lms_shaped / "conf/plugins-locale/xblock.v1/hastexo_lab"
    shutil.copytree(PACKAGE / "conf" / "locale", pulled)
    # What compile_xblock_translations compiles for the block: its djangojs.mo,
    # into the namespace the block names.
    assert (pulled / "de" / "LC_MESSAGES" / "djangojs.mo").is_file()
    assert LabBlock.get_i18n_js_namespace() == i18n.JS_NAMESPACE
    compiled = lms_shaped / "static/js/xblock.v1-i18n/hastexo_lab/de.js"
    compiled.parent.mkdir(parents=True)
    compiled.write_text("/* the platform's */")
    html = page(speak(lab, "de"))
    assert re.search(rf"<script src=['\"]{django_settings.STATIC_URL}js/xblock.v1-i18n/hastexo_lab/de.js['\"]", html)
    assert INLINE_CATALOG not in html


# -- the catalogs ----------------------------------------------------------------------

def catalog(language, domain):
    from babel.messages.pofile import read_po
    with open(i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po", "rb") as handle:
        return read_po(handle)


def extracted(domain):
    """The msgids `make translations` would extract from the code now."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    with open(i18n.LOCALE_DIR / f"babel-{domain}.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    folder = PACKAGE if domain == "django" else PACKAGE / "static"
    return {message[2] if isinstance(message[2], str) else message[2][0]
            for message in extract_from_dir(folder, method_map, options_map)}


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_source_catalogs_are_current_with_the_code(domain):
    """A string marked in the code and missing here: run `make translations`."""
    source = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog("en", domain) if m.id}
    assert source == extracted(domain)


# Where learners' strings come from; all of them are in German.
LEARNER_FACING = ("hastexo_lab/templates/lab.html", "hastexo_lab/static/js/lab.js", "hastexo_lab/api.py",
                  "hastexo_lab/block.py", "hastexo_lab/limits.py", "hastexo_lab/operations.py")


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_german_has_every_string_learners_see_and_is_compiled(domain):
    german = catalog("de", domain)
    missing = [m.id for m in german if m.id and any(path in LEARNER_FACING for path, _ in m.locations)
               and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert not missing
    assert {m.id for m in german if m.id} == {m.id for m in catalog("en", domain) if m.id}
    # The .mo is the .po compiled (what Django and the platform read).
    compiled = gettext.translation(domain, i18n.LOCALE_DIR, ["de"])
    for message in german:
        if message.id and isinstance(message.id, str) and message.string:
            assert compiled.gettext(message.id) == message.string


def test_the_catalogs_are_where_the_platforms_tooling_reads_them():
    # openedx-translations and atlas: <module>/conf/locale/<language>/LC_MESSAGES.
    for language in ("en", "de"):
        for domain in ("django", "djangojs"):
            assert (PACKAGE / "conf" / "locale" / language / "LC_MESSAGES" / f"{domain}.po").is_file()
    # Django's, for an installed app: <app>/locale; the same files.
    assert (PACKAGE / "conf" / "locale").resolve() == i18n.LOCALE_DIR


def test_the_wheel_ships_the_compiled_catalogs(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(tmp_path), ROOT], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("hastexo_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for domain in ("django", "djangojs"):
        assert f"hastexo_lab/locale/de/LC_MESSAGES/{domain}.mo" in names, (
            "MANIFEST.in must include the catalogs: recursive-include hastexo_lab/locale *.po *.mo")

"""The block's translations: where its catalogs are, and the browser's share of them.

The catalogs are ``locale/<language>/LC_MESSAGES/`` in the package:
``django.po``/``.mo`` for Python and the templates, ``djangojs.po``/``.mo`` for
the browser; ``en`` holds the English source. ``locale`` is where Django
looks for an installed app's catalogs, and so where the runtime's i18n service
finds the block's strings: Django's translation in the workbench, and in the
LMS, whose XBlockI18nService falls back to it when no catalog was pulled for
the block. ``conf/locale`` is the same folder (a link) under the name Open
edX's tooling reads an XBlock's catalogs by: openedx-translations takes the
English source from there, and ``atlas pull`` (the platform's
``pull_xblock_translations``) brings the translations back in the same shape,
which the platform's ``compile_xblock_translations`` compiles, the browser's
into a catalog in the block's ``i18n_js_namespace``.

``make translations`` extracts, updates and compiles them (docs/settings.md).
"""

import functools
import gettext
import io
from pathlib import Path

from django.conf import settings
from django.utils.translation import get_language, to_locale
from django.utils.translation.template import templatize
from django.views.i18n import JavaScriptCatalog

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# The browser's catalog defines window.HastexoLabI18N (gettext, ngettext, ...),
# as the platform's compiled catalog for the block does.
JS_NAMESPACE = "HastexoLabI18N"
JS_DOMAIN = "djangojs"


def add_javascript_catalog(fragment, block, i18n_service):
    """Add the browser's translations for the current language to ``fragment``.

    The platform's catalog, compiled from the translations it pulled for the
    block, when its i18n service has one (it gives its URL); otherwise the
    catalog that comes with the block, in the page. Nothing for a language
    the block has no translations for (English, its source).
    """
    url_for = getattr(i18n_service, "get_javascript_i18n_catalog_url", None)
    url = url_for(block) if url_for is not None else None
    if url:
        fragment.add_javascript_url(url)
        return
    code = javascript_catalog(to_locale(get_language() or settings.LANGUAGE_CODE))
    if code:
        fragment.add_javascript(code)


@functools.cache
def javascript_catalog(locale):
    """JavaScript that defines ``window.HastexoLabI18N`` with the block's
    browser translations for ``locale`` (``de``, ``de_DE``: the language's
    catalog serves its regions), or None when the block has none for it.

    Django's own JavaScript catalog (the one the platform compiles for a
    block too), run with the namespace object as its ``this``, so that it
    defines its functions there and leaves the page's ``gettext`` alone.
    """
    try:
        translation = gettext.translation(JS_DOMAIN, LOCALE_DIR, [locale])
    except OSError:
        return None
    view = JavaScriptCatalog()
    view.translation = translation
    if not view.get_catalog():
        return None
    code = view.render_to_response(view.get_context_data()).content.decode()
    # Inline in the page: a "</script>" in a message must not end the script.
    code = code.replace("</", "<\\/")
    return (f"window.{JS_NAMESPACE} = (function () {{\n"
            f"  var namespace = {{}};\n"
            f"  (function () {{\n{code}\n  }}).call(namespace);\n"
            f"  return namespace;\n"
            f"}}());\n")


def extract_django_template(fileobj, keywords, comment_tags, options):
    """Babel's extractor for the block's Django templates (``make
    translations``): Django turns a template into Python-like text with its
    ``{% trans %}`` strings as gettext calls, which Babel's Python extractor reads."""
    # Babel is a tool of the catalogs' makers, not something the block needs to run.
    from babel.messages.extract import extract_python

    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    # Each gettext call stands on one line, where the template had it; the
    # template's indentation would be Python's, and wrong.
    code = "\n".join(line.lstrip() for line in templatize(text).splitlines())
    return extract_python(io.BytesIO(code.encode("utf-8")), keywords, comment_tags, options)

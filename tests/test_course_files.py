"""Course files and keys as the platform gives them: a lab in a course reads
its templates from the course's content store, under the course's key."""

import json
import re
import sys
import types

import pytest
from opaque_keys.edx.keys import CourseKey
from opaque_keys.edx.locator import (
    AssetLocator,
    BlockUsageLocator,
    CourseLocator,
    LibraryLocatorV2,
    LibraryUsageLocatorV2,
)
from webob import Request
from workbench.runtime import WorkbenchRuntime
from xblock.field_data import DictFieldData
from xblock.fields import ScopeIds

from hastexo_lab import api, authoring
from hastexo_lab.block import LabBlock
from hastexo_lab.models import Stack

pytestmark = pytest.mark.django_db

COURSE = CourseLocator("Org", "Lab", "2026")
USAGE = BlockUsageLocator(COURSE, "hastexo_lab", "lab1")
TEMPLATE = "heat_template_version: 2016-10-14\ndescription: the course's own template\nresources: {}\n"
ENVIRONMENT = "parameters: {flavor: m1.small}\n"


class NotFoundError(Exception):
    """As the platform's xmodule.exceptions.NotFoundError."""


class StaticContent:
    """As the platform's: an asset's location is the course key's asset key
    for the path, with '/' made '_' and other unsafe characters cleaned."""

    @staticmethod
    def compute_location(course_key, path, revision=None, is_thumbnail=False):
        name = AssetLocator.clean_keeping_underscores(path.replace("/", "_"))
        return course_key.make_asset_key("thumbnail" if is_thumbnail else "asset", name).for_branch(None)


class ContentStore:
    """The course content store: files by asset key, and which keys were asked for."""

    def __init__(self):
        self.files = {}
        self.asked = []

    def upload(self, course_key, path, text):
        self.files[StaticContent.compute_location(course_key, path)] = text.encode()

    def find(self, location):
        self.asked.append(location)
        if location not in self.files:
            raise NotFoundError(location)
        return types.SimpleNamespace(data=self.files[location])


@pytest.fixture
def store(monkeypatch):
    """A platform-like ``xmodule`` for this test only, with one course's files."""
    store = ContentStore()
    store.upload(COURSE, "hot/lab.yaml", TEMPLATE)
    store.upload(COURSE, "hot/env.yaml", ENVIRONMENT)
    package, contentstore = types.ModuleType("xmodule"), types.ModuleType("xmodule.contentstore")
    content, django = types.ModuleType("xmodule.contentstore.content"), types.ModuleType("xmodule.contentstore.django")
    exceptions = types.ModuleType("xmodule.exceptions")
    content.StaticContent = StaticContent
    django.contentstore = lambda: store
    exceptions.NotFoundError = NotFoundError
    package.contentstore, package.exceptions = contentstore, exceptions
    contentstore.content, contentstore.django = content, django
    for module in (package, contentstore, content, django, exceptions):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return store


class CourseRuntime(WorkbenchRuntime):
    """The workbench's runtime for a block with the platform's usage key (its
    own store knows only workbench ids: block state is kept in memory)."""

    def __init__(self, user_id):
        super().__init__(user_id)
        self.state = DictFieldData({})

    def service(self, block, service_name):
        if service_name == "field-data":
            return self.state
        return super().service(block, service_name)


def make_block(usage=USAGE, **fields):
    block = CourseRuntime("alice").construct_xblock_from_class(
        LabBlock, ScopeIds("alice", "hastexo_lab", usage, usage))
    block.stack_user_name = "training"
    for name, value in fields.items():
        setattr(block, name, value)
    return block


def handle(block, handler, data):
    request = Request.blank("/", method="POST", body=json.dumps(data).encode(), content_type="application/json")
    return block.runtime.handle(block, handler, request)


def save(block, **values):
    return handle(block, "submit_studio_edits", {"values": values, "defaults": []})


def messages(response):
    assert response.status_code == 400, response.body
    return " ".join(m["text"] for m in json.loads(response.body)["error"]["messages"])


@pytest.fixture
def lab(store, workbench_settings):
    return make_block()


def test_the_block_has_the_platforms_course_key(lab):
    assert lab.course_key == COURSE and isinstance(lab.course_key, CourseKey)
    # Also after a handler, where the workbench gives the block a course id string of its own.
    handle(lab, "status", {})
    assert lab.course_key == COURSE


def test_stack_names_are_made_of_the_course_run_string(lab):
    assert lab.course_run == str(COURSE) == "course-v1:Org+Lab+2026"
    assert lab.stack_name == api.stack_name(str(COURSE), "alice", lab.environment_key)


def test_studio_save_finds_a_template_in_the_course_files(lab, store):
    response = save(lab, stack_template_path="hot/lab.yaml")
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {"result": "success"}
    assert lab.stack_template_path == "hot/lab.yaml"
    assert COURSE.make_asset_key("asset", "hot_lab.yaml") in store.asked


def test_studio_save_names_a_template_not_in_the_course_files(lab):
    text = messages(save(lab, stack_template_path="hot/missing.yaml"))
    assert "hot/missing.yaml is not in the course's files (Files & Uploads)." in text
    assert lab.stack_template_path == ""


def test_studio_save_checks_the_providers_files_too(lab):
    providers = [{"name": "default", "template": "hot/lab.yaml", "environment": "hot/env.yaml"},
                 {"name": "backup", "template": "hot/other.yaml"}]
    text = messages(save(lab, stack_template_path="hot/lab.yaml", providers=providers))
    assert "hot/other.yaml is not in the course's files" in text
    assert "hot/lab.yaml" not in text and "hot/env.yaml" not in text


def test_studio_validation_of_the_course_files(store, workbench_settings):
    assert not make_block(stack_template_path="hot/lab.yaml").validate().messages
    validation = make_block(stack_template_path="hot/missing.yaml").validate()
    assert [m.text for m in validation.messages] == [
        "Template path: hot/missing.yaml is not in the course's files (Files & Uploads)."]


def test_launch_reads_the_template_from_the_course_files(store, workbench_settings):
    lab = make_block(stack_template_path="hot/lab.yaml",
                     providers=[{"name": "default", "environment": "hot/env.yaml"}, {"name": "backup"}])
    candidates = lab._launch_candidates()
    assert [(c["name"], c["template"], c["environment"]) for c in candidates] == [
        ("default", TEMPLATE, ENVIRONMENT), ("backup", TEMPLATE, "")]
    assert set(store.asked) == {COURSE.make_asset_key("asset", "hot_lab.yaml"),
                                COURSE.make_asset_key("asset", "hot_env.yaml")}


def test_a_launch_makes_the_learners_stack_in_the_course_run(store, workbench_settings):
    lab = make_block(stack_template_path="hot/lab.yaml")
    reply = json.loads(handle(lab, "status", {"launch": True}).body)
    assert reply["phase"] == api.QUEUED, reply
    stack = Stack.objects.get()
    assert stack.course_id == str(COURSE)
    assert stack.name == api.stack_name(str(COURSE), "alice", lab.environment_key) == lab.stack_name
    assert stack.providers[0]["template"] == TEMPLATE


def test_a_launch_without_the_template_says_so(store, workbench_settings):
    lab = make_block(stack_template_path="hot/missing.yaml")
    reply = json.loads(handle(lab, "status", {"launch": True}).body)
    assert reply["phase"] == api.FAILED and "template could not be found" in reply["message"]
    assert not Stack.objects.exists()


def test_course_keys_as_strings_are_parsed(store):
    assert authoring.load_course_file(str(COURSE), "hot/lab.yaml") == TEMPLATE
    assert authoring.check_files({"stack_template_path": "hot/lab.yaml"}, str(COURSE)) == []


@pytest.mark.parametrize("key, message", [
    (None, "hot/lab.yaml cannot be read: this lab is not in a course"),
    ("", "hot/lab.yaml cannot be read: this lab is not in a course"),
    ("not a key", "hot/lab.yaml cannot be read: 'not a key' is not a course key"),
    (LibraryLocatorV2("Org", "labs"), "course files are not available in a library (lib:Org:labs)"),
])
def test_no_course_no_course_files(store, key, message):
    with pytest.raises(authoring.TemplateNotFound, match=re.escape(message)):
        authoring.load_course_file(key, "hot/lab.yaml")
    problems = authoring.check_files({"stack_template_path": "hot/lab.yaml"}, key)
    assert len(problems) == 1 and problems[0][0] == "stack_template_path" and message in problems[0][1]


def test_a_missing_file_names_its_path(store):
    with pytest.raises(authoring.TemplateNotFound, match="hot/missing.yaml"):
        authoring.load_course_file(COURSE, "hot/missing.yaml")
    # Files of another course are not this course's.
    with pytest.raises(authoring.TemplateNotFound, match="hot/lab.yaml"):
        authoring.load_course_file(CourseLocator("Org", "Other", "2026"), "hot/lab.yaml")


def test_a_lab_in_a_library_hears_it_has_no_course_files(store, workbench_settings):
    library = LibraryLocatorV2("Org", "labs")
    lab = make_block(usage=LibraryUsageLocatorV2(library, "hastexo_lab", "lab1"), stack_template_path="hot/lab.yaml")
    assert lab.course_key == library
    text = " ".join(m.text for m in lab.validate().messages)
    assert "course files are not available in a library" in text


def test_the_workbench_reads_template_dir_as_before(workbench_settings):
    """Without the platform: no course key from a workbench usage id, the
    usage id as the course run, and files from template_dir."""
    block = make_block(usage="hastexo_lab.0.hastexo_lab.d0.u0", stack_template_path="lab.yaml")
    assert block.course_key is None
    assert block.course_run == "hastexo_lab.0.hastexo_lab.d0.u0"
    assert not block.validate().messages
    assert "heat_template_version" in block._launch_candidates()[0]["template"]

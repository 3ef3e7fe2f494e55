"""project.py's pure rules (names, locations, dotted keys, YAML scalars) and its file I/O, without az."""

from __future__ import annotations

import uuid

import pytest
from azure.cli.core.azclierror import FileOperationError, InvalidArgumentValueError, ValidationError
from hypothesis import given, strategies as st

from azext_prototype import project


@pytest.mark.parametrize("name", ["abc", "my-app", "A1-b2", "x" * 40, "proto-2024"])
def test_valid_names(name):
    assert project.validate_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "ab", "x" * 41, "1app", "-app", "app-", "my_app", "my app", "my.app", "ünï", "a/b", None]
)
def test_invalid_names_say_the_rule(name):
    with pytest.raises(InvalidArgumentValueError) as err:
        project.validate_name(name)
    assert "letters, digits and hyphens" in str(err.value)


@pytest.mark.parametrize(
    "given_location, expected",
    [("eastus", "eastus"), ("WestUS3", "westus3"), ("West US 3", "westus3"), (" north europe ", "northeurope")],
)
def test_locations_are_normalized_to_short_form(given_location, expected):
    assert project.normalize_location(given_location) == expected


@pytest.mark.parametrize("bad", ["", "e", "east-us", "3west", "west_us", "eastus;rm"])
def test_bad_locations_are_refused(bad):
    with pytest.raises(InvalidArgumentValueError):
        project.normalize_location(bad)


def test_every_provider_has_a_default_model():
    assert set(project.DEFAULT_MODELS) == set(project.AI_PROVIDERS)
    assert all(project.default_model(p) for p in project.AI_PROVIDERS)


def test_choices_are_case_insensitive_and_canonical():
    assert project.validate_choice("IaC tool", "Bicep", project.IAC_TOOLS) == "bicep"
    with pytest.raises(InvalidArgumentValueError, match="choose one of terraform, bicep"):
        project.validate_choice("IaC tool", "pulumi", project.IAC_TOOLS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("true", True),
        ("False", False),
        ("3", 3),
        ("-2.5", -2.5),
        ("null", None),
        ("~", None),
        ("gpt-4o", "gpt-4o"),
        ("'42'", "42"),
        ("", ""),
        ("  ", "  "),
        ("[1, 2]", "[1, 2]"),  # not a scalar: kept as typed
        ("a: b", "a: b"),
        ("2024-01-01", "2024-01-01"),  # a YAML date stays text
        ("{unclosed", "{unclosed"),  # not YAML at all: kept as typed
    ],
)
def test_values_parse_as_yaml_scalars(text, expected):
    value = project.parse_scalar(text)
    assert value == expected and type(value) is type(expected)


def test_overlong_value_is_refused():
    with pytest.raises(InvalidArgumentValueError, match="too long"):
        project.parse_scalar("x" * 5000)


def _sample():
    return project.new_project(
        name="my-app", location="eastus", project_id="id-1", environment="dev",
        iac_tool="terraform", provider="copilot", model="gpt-4.1",
    )


def test_get_dotted_reads_leaves_and_sections():
    data = _sample()
    assert project.get_dotted(data, "ai.model") == "gpt-4.1"
    assert project.get_dotted(data, "ai") == {"provider": "copilot", "model": "gpt-4.1"}


@pytest.mark.parametrize("key", ["nope", "ai.nope", "ai.model.deeper", "project.name.x"])
def test_unknown_key_is_a_clear_error_listing_known_keys(key):
    with pytest.raises(InvalidArgumentValueError) as err:
        project.get_dotted(_sample(), key)
    assert "Unknown configuration key" in str(err.value)
    assert "ai.model" in err.value.recommendations[0]


@pytest.mark.parametrize("key", ["", ".", "a..b", "a.", "a b", "a/b"])
def test_malformed_keys_are_refused(key):
    with pytest.raises(InvalidArgumentValueError, match="Invalid key"):
        project.split_key(key)


def test_set_dotted_returns_a_copy_and_creates_sections():
    data = _sample()
    changed = project.set_dotted(data, "deploy.scale.replicas", 3)
    assert changed["deploy"] == {"scale": {"replicas": 3}}
    assert "deploy" not in data
    changed = project.set_dotted(changed, "ai.model", "gpt-4o")
    assert changed["ai"]["model"] == "gpt-4o" and data["ai"]["model"] == "gpt-4.1"
    assert list(changed) == ["project", "ai", "deploy"]  # document order kept


def test_set_dotted_refuses_to_cross_or_replace_values_and_sections():
    with pytest.raises(InvalidArgumentValueError, match="holds a value"):
        project.set_dotted(_sample(), "ai.model.x", 1)
    with pytest.raises(InvalidArgumentValueError, match="is a section"):
        project.set_dotted(_sample(), "ai", "x")


def test_flatten_lists_dotted_leaves_in_order():
    assert list(project.flatten(_sample())) == [
        "project.name", "project.id", "project.location", "project.environment",
        "project.iac_tool", "ai.provider", "ai.model",
    ]


def test_check_setting_validates_init_keys_and_passes_others():
    assert project.check_setting("project.location", "West Europe") == "westeurope"
    assert project.check_setting("ai.provider", "GitHub-Models") == "github-models"
    assert project.check_setting("ai.model", 4) == "4"
    assert project.check_setting("deploy.replicas", 3) == 3
    assert project.check_setting("ai.model", None) is None  # a real null: the provider's default
    assert project.check_setting("deploy.replicas", None) is None
    with pytest.raises(ValidationError, match="cannot be set"):
        project.check_setting("project.id", "x")
    with pytest.raises(InvalidArgumentValueError):
        project.check_setting("project.name", "no")


keys = st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), min_size=1, max_size=4)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))


@given(st.lists(st.tuples(keys, scalars), max_size=8))
def test_set_then_get_round_trips(assignments):
    data: dict = {}
    for parts, value in assignments:
        key = ".".join(parts)
        try:
            data = project.set_dotted(data, key, value)
        except InvalidArgumentValueError:
            continue  # the path crosses a value or replaces a section: refused, data unchanged
        assert project.get_dotted(data, key) == value


def test_written_yaml_has_the_stable_block_shape(tmp_path):
    path = tmp_path / project.PROJECT_FILE
    project.write_project(path, _sample())
    assert path.read_text() == (
        "project:\n  name: my-app\n  id: id-1\n  location: eastus\n  environment: dev\n"
        "  iac_tool: terraform\nai:\n  provider: copilot\n  model: gpt-4.1\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == [project.PROJECT_FILE]
    assert project.load_project(tmp_path) == (path, _sample())


def test_new_project_ids_are_random_uuid4():
    ids = {project.new_project_id() for _ in range(3)}
    assert len(ids) == 3
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_load_outside_a_project_is_a_clear_error(tmp_path):
    with pytest.raises(FileOperationError, match="No prototype project"):
        project.load_project(tmp_path)


@pytest.mark.parametrize("text, message", [("a: [", "not valid YAML"), ("- 1\n- 2\n", "mapping")])
def test_broken_project_file_is_a_clear_error(tmp_path, text, message):
    (tmp_path / project.PROJECT_FILE).write_text(text)
    with pytest.raises(FileOperationError, match=message):
        project.load_project(tmp_path)


def test_prepare_refuses_existing_project_unless_forced(tmp_path):
    target = project.prepare_project_dir(tmp_path / "new" / "base", "my-app", force=False)
    assert target == tmp_path / "new" / "base" / "my-app" and target.is_dir()
    (target / project.PROJECT_FILE).write_text("project: {}\n")
    with pytest.raises(ValidationError, match="already exists"):
        project.prepare_project_dir(tmp_path / "new" / "base", "my-app", force=False)
    assert project.prepare_project_dir(tmp_path / "new" / "base", "my-app", force=True) == target


def test_prepare_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(FileOperationError, match="not a directory"):
        project.prepare_project_dir(tmp_path / "plain", "my-app", force=False)
    with pytest.raises(FileOperationError):
        project.prepare_project_dir(tmp_path / "plain" / "deeper", "my-app", force=False)

"""The pipeline spec: variables.tf defaults, tfvars files, --var overrides and their errors."""

from decimal import Decimal
from pathlib import Path

import pytest

from ddbstream.errors import SpecError
from ddbstream.project import find_infra_dir
from ddbstream.spec import evaluate_condition, load_spec, read_variables

REPO_INFRA = Path(__file__).resolve().parents[2] / "infra"


@pytest.fixture
def infra(project) -> Path:
    return project / "infra"


def test_defaults_come_from_variables_tf(infra):
    spec = load_spec(infra)
    assert spec["table_name"] == "employees"
    assert spec.key_schema() == [("employeeid", "S")]
    assert spec["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    assert spec["billing_mode"] == "PAY_PER_REQUEST"
    assert spec["range_key"] is None


def test_every_variable_is_typed_and_described():
    for variable in read_variables(REPO_INFRA / "variables.tf").values():
        assert variable.type != "any", variable.name
        assert variable.description, variable.name


def test_every_validation_condition_is_evaluable_on_the_defaults():
    spec = load_spec(REPO_INFRA)
    for variable in spec.variables.values():
        for condition, _ in variable.validations:
            assert evaluate_condition(condition, spec.values) in (True, False)


def test_tfvars_then_var_file_then_var_override(infra, tmp_path):
    (infra / "terraform.tfvars").write_text('table_name = "from_tfvars"\nrange_key = "sk"\nread_capacity = 7\n')
    var_file = tmp_path / "more.tfvars.json"
    var_file.write_text('{"table_name": "from_var_file", "range_key_type": "N"}')
    spec = load_spec(infra, var_files=[str(var_file)], overrides=["table_name=from_cli"])
    assert spec["table_name"] == "from_cli"
    assert spec.key_schema() == [("employeeid", "S"), ("sk", "N")]
    assert spec["read_capacity"] == 7


def test_tfvars_json_is_read(infra):
    (infra / "terraform.tfvars.json").write_text('{"billing_mode": "PROVISIONED", "write_capacity": 3}')
    spec = load_spec(infra)
    assert spec["billing_mode"] == "PROVISIONED"
    assert spec["write_capacity"] == 3


def test_var_values_are_converted_to_the_variable_type(infra):
    spec = load_spec(infra, overrides=["point_in_time_recovery=false", "read_capacity=12", "ttl_attribute=expires"])
    assert spec["point_in_time_recovery"] is False
    assert spec["read_capacity"] == 12
    assert spec["ttl_attribute"] == "expires"


@pytest.mark.parametrize(
    "override, message",
    [
        (["nope=1"], "--var 'nope=1': unknown variable 'nope'"),
        (["table_name"], "--var 'table_name': expected name=value"),
        (["read_capacity=lots"], "variable read_capacity: expected a number, got string 'lots'"),
        (["point_in_time_recovery=maybe"], "variable point_in_time_recovery: expected a bool, got string 'maybe'"),
        (
            ["stream_view_type=EVERYTHING"],
            "invalid value for variable 'stream_view_type': stream_view_type must be one of KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES.",
        ),
        (
            ["billing_mode=FREE"],
            "invalid value for variable 'billing_mode': billing_mode must be PAY_PER_REQUEST or PROVISIONED.",
        ),
        (["read_capacity=0"], "invalid value for variable 'read_capacity': read_capacity must be at least 1."),
    ],
)
def test_bad_overrides_are_refused(infra, override, message):
    with pytest.raises(SpecError) as error:
        load_spec(infra, overrides=override)
    assert str(error.value) == message


def test_unknown_variable_in_a_tfvars_file(infra):
    path = infra / "terraform.tfvars"
    path.write_text('tabel_name = "typo"\n')
    with pytest.raises(SpecError, match=r"terraform.tfvars: unknown variable 'tabel_name'"):
        load_spec(infra)


def test_unparsable_tfvars_names_file_and_line(infra):
    path = infra / "terraform.tfvars"
    path.write_text('table_name = "ok"\n\nbatch = = 3\n')
    with pytest.raises(SpecError) as error:
        load_spec(infra)
    assert str(error.value).startswith(f"{path}:3: cannot parse")


def test_unparsable_json_var_file_names_file_and_line(infra, tmp_path):
    path = tmp_path / "bad.tfvars.json"
    path.write_text('{\n  "table_name": "x",\n  oops\n}')
    with pytest.raises(SpecError) as error:
        load_spec(infra, var_files=[str(path)])
    assert str(error.value).startswith(f"{path}:3: cannot parse")


def test_missing_var_file(infra, tmp_path):
    with pytest.raises(SpecError, match="--var-file .*nothere.tfvars: no such file"):
        load_spec(infra, var_files=[str(tmp_path / "nothere.tfvars")])


def test_wrong_type_in_a_var_file(infra, tmp_path):
    path = tmp_path / "x.tfvars.json"
    path.write_text('{"point_in_time_recovery": "sometimes"}')
    with pytest.raises(SpecError, match="expected a bool"):
        load_spec(infra, var_files=[str(path)])


def test_find_infra_dir_walks_up(project):
    nested = project / "a" / "b"
    nested.mkdir(parents=True)
    assert find_infra_dir(nested) == (project / "infra").resolve()


def test_find_infra_dir_outside_a_project(tmp_path):
    with pytest.raises(SpecError, match="no infra/variables.tf"):
        find_infra_dir(tmp_path)


@pytest.mark.parametrize(
    "condition, values, expected",
    [
        ('contains(["A", "B"], var.x)', {"x": "A"}, True),
        ('contains(["A", "B"], var.x)', {"x": "C"}, False),
        ("var.n >= 1 && var.n <= 10", {"n": 10}, True),
        ("var.n >= 1 && var.n <= 10", {"n": 11}, False),
        ("var.n == -1 || (var.n >= 60 && var.n <= 604800)", {"n": -1}, True),
        ("var.n == -1 || (var.n >= 60 && var.n <= 604800)", {"n": 30}, False),
        ("var.x == null || length(var.x) > 0", {"x": None}, True),
        ('can(regex("^[a-z]+$", var.x))', {"x": "abc"}, True),
        ('can(regex("^[a-z]+$", var.x))', {"x": "ab1"}, False),
        ("!var.flag", {"flag": False}, True),
        ("var.n != 0", {"n": Decimal("0.5")}, True),
    ],
)
def test_validation_subset(condition, values, expected):
    assert evaluate_condition(condition, values) is expected


def test_unsupported_validation_is_reported():
    with pytest.raises(SpecError, match="unsupported validation condition"):
        evaluate_condition("alltrue([for x in var.l : x > 0])", {"l": [1]})
    with pytest.raises(SpecError, match="unsupported validation condition"):
        evaluate_condition("var.x.__class__", {"x": 1})


# ------------------------------------------------------------------ parse cache


@pytest.fixture
def parse_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DDBSTREAM_CACHE_DIR", str(cache))
    return cache


def count_parses(monkeypatch) -> list[Path]:
    from ddbstream import spec as spec_module

    parses: list[Path] = []
    real = spec_module._hcl_parse

    def counting(path, text):
        parses.append(path)
        return real(path, text)

    monkeypatch.setattr(spec_module, "_hcl_parse", counting)
    return parses


def test_an_unchanged_file_is_parsed_once(infra, parse_cache, monkeypatch):
    parses = count_parses(monkeypatch)
    first = read_variables(infra / "variables.tf")
    second = read_variables(infra / "variables.tf")
    assert parses == [infra / "variables.tf"]
    assert first == second
    assert len(list((parse_cache / "hcl").glob("*.json"))) == 1


def test_the_parse_cache_is_private(infra, parse_cache):
    """It holds variable values (a notification email, say): only the user may read it."""
    import stat

    read_variables(infra / "variables.tf")
    [entry] = (parse_cache / "hcl").glob("*.json")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE((parse_cache / "hcl").stat().st_mode) == 0o700


def test_an_edited_file_is_parsed_again(infra, parse_cache, monkeypatch):
    parses = count_parses(monkeypatch)
    assert load_spec(infra)["table_name"] == "employees"
    path = infra / "variables.tf"
    path.write_text(path.read_text().replace('default     = "employees"', 'default     = "staff"', 1))
    assert load_spec(infra)["table_name"] == "staff"
    assert len(parses) == 2


def test_a_damaged_cache_entry_is_parsed_again(infra, parse_cache, monkeypatch):
    read_variables(infra / "variables.tf")
    [entry] = (parse_cache / "hcl").glob("*.json")
    entry.write_text('{"variable": [')  # cut short, as by a full disk
    parses = count_parses(monkeypatch)
    assert read_variables(infra / "variables.tf")["table_name"].default == "employees"
    assert len(parses) == 1


def test_an_unwritable_cache_only_costs_the_parse(infra, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("DDBSTREAM_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot exist
    parses = count_parses(monkeypatch)
    assert load_spec(infra)["table_name"] == "employees"
    assert load_spec(infra)["table_name"] == "employees"
    assert len(parses) == 2
    assert not list(tmp_path.glob("**/*.tmp"))


def test_a_file_that_does_not_parse_fails_every_time(infra, parse_cache):
    (infra / "terraform.tfvars").write_text('table_name = "x"\nbilling_mode = = 3\n')
    for _ in range(2):
        with pytest.raises(SpecError, match=r"terraform\.tfvars:2: cannot parse"):
            load_spec(infra)
    assert len(list((parse_cache / "hcl").glob("*.json"))) == 1  # variables.tf only


def test_an_empty_cache_dir_setting_switches_the_cache_off(infra, monkeypatch, tmp_path):
    monkeypatch.setenv("DDBSTREAM_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    parses = count_parses(monkeypatch)
    read_variables(infra / "variables.tf")
    read_variables(infra / "variables.tf")
    assert len(parses) == 2
    assert not (tmp_path / "xdg").exists()


def test_the_cache_goes_to_xdg_cache_home_by_default(infra, monkeypatch, tmp_path):
    monkeypatch.delenv("DDBSTREAM_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    read_variables(infra / "variables.tf")
    assert len(list((tmp_path / "xdg" / "ddbstream" / "hcl").glob("*.json"))) == 1

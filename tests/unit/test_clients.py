"""The botocore sessions behind every client: the quicker model loader keeps botocore's rules."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import UnknownServiceError

from ddbstream import clients


@pytest.fixture
def fresh_sessions():
    clients._session.cache_clear()
    yield
    clients._session.cache_clear()


def test_known_services_are_the_model_directories(fresh_sessions):
    loader = clients._session(None, True).get_component("data_loader")
    services = loader.list_available_services("service-2")
    assert {"dynamodb", "dynamodbstreams", "lambda", "logs", "sqs"} <= set(services)
    assert not [name for name in services if name.endswith(".json")]  # files beside the directories
    assert services == sorted(services)


def test_a_client_builds_and_an_unknown_service_is_still_refused(fresh_sessions):
    client = clients.local_client("dynamodb", "http://127.0.0.1:9", "us-east-1", "testing")
    assert client.meta.service_model.service_name == "dynamodb"
    assert "put_item" in dir(client)
    with pytest.raises(UnknownServiceError):
        clients.local_client("dynamodbb", "http://127.0.0.1:9", "us-east-1", "testing")


def test_models_on_aws_data_path_are_found(fresh_sessions, tmp_path, monkeypatch):
    model_dir = tmp_path / "mymodels" / "acme" / "2020-01-01"
    model_dir.mkdir(parents=True)
    (model_dir / "service-2.json").write_text(
        json.dumps(
            {
                "version": "2.0",
                "metadata": {
                    "apiVersion": "2020-01-01",
                    "endpointPrefix": "acme",
                    "protocol": "json",
                    "serviceId": "Acme",
                    "signatureVersion": "v4",
                    "jsonVersion": "1.0",
                    "targetPrefix": "Acme",
                    "uid": "acme-2020-01-01",
                },
                "operations": {},
                "shapes": {},
            }
        )
    )
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "mymodels"))
    session = clients._session(None, True)
    assert "acme" in session.get_component("data_loader").list_available_services("service-2")
    assert session.get_service_model("acme").service_name == "acme"


SERVICES = ["dynamodb", "dynamodbstreams", "lambda", "logs", "sqs", "sns", "s3", "events", "cloudwatch", "iam"]


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1"])
@pytest.mark.parametrize("service", SERVICES)
def test_local_clients_sign_as_with_the_full_endpoint_data(fresh_sessions, service, region):
    """The trimmed resolver gives each local client the URL, region and signer the full one would."""
    import botocore.session

    local = clients.local_client(service, "http://127.0.0.1:9", region, "testing")
    full = botocore.session.Session().create_client(
        service,
        endpoint_url="http://127.0.0.1:9",
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="x",
    )
    assert local.meta.endpoint_url == full.meta.endpoint_url == "http://127.0.0.1:9"
    assert local.meta.region_name == full.meta.region_name
    assert local.meta.partition == full.meta.partition
    for attribute in ("signature_version", "_signing_name", "_region_name"):
        assert getattr(local._request_signer, attribute) == getattr(full._request_signer, attribute)


def test_local_clients_never_parse_the_large_endpoints_document(fresh_sessions, monkeypatch):
    from botocore.loaders import Loader

    loaded: list[str] = []
    original = Loader.load_data_with_path

    def spy(self, name):
        loaded.append(name)
        return original(self, name)

    monkeypatch.setattr(Loader, "load_data_with_path", spy)
    clients.local_client("dynamodb", "http://127.0.0.1:9", "us-east-1", "testing")
    assert "endpoints" not in loaded
    assert "partitions" in loaded


def test_item_commands_use_the_lean_client_only_for_the_local_daemon(fresh_sessions, monkeypatch):
    from types import SimpleNamespace

    from ddbstream.local_dynamodb import LocalDynamoDB

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    local = SimpleNamespace(is_local=True, endpoint="http://127.0.0.1:9", region="eu-west-1", profile=None, secret="s")
    aws = SimpleNamespace(is_local=False, endpoint=None, region="eu-west-1", profile=None, secret=None)
    lean = clients.table_client_for(local)
    assert isinstance(lean, LocalDynamoDB)
    assert (lean.url, lean.region, lean.access_key) == ("http://127.0.0.1:9/", "eu-west-1", "s")
    remote = clients.table_client_for(aws)
    assert remote.meta.service_model.service_name == "dynamodb" and remote.meta.region_name == "eu-west-1"

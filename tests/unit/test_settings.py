"""Settings: defaults, derived paths, and refusal of insecure production configuration."""

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from settings import Settings


def test_defaults_keep_state_under_data_dir_and_answer_offline(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'msme_rag.db'}"
    assert settings.index_dir == tmp_path / "index"
    assert settings.use_bedrock is False
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    # The default Bedrock model must be one AWS still serves (Claude 3 Haiku reached end of life).
    assert "claude-3-haiku" not in settings.bedrock_model_id


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.port == 9123
    assert settings.resolved_data_dir == tmp_path.resolve()
    assert settings.use_bedrock is True
    assert settings.boto3_client_kwargs("bedrock-runtime")["aws_access_key_id"] == "AKIAEXAMPLE"


def test_production_refuses_the_development_secrets() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, environment="production")  # type: ignore[call-arg]
    strong = SecretStr("x" * 32)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, environment="production", secret_key=strong, jwt_secret_key=strong
    )
    assert settings.environment == "production"


def test_overlap_must_be_smaller_than_chunk_size() -> None:
    with pytest.raises(ValidationError, match="CHUNK_OVERLAP"):
        Settings(_env_file=None, chunk_size=200, chunk_overlap=200)  # type: ignore[call-arg]


def test_the_example_env_file_is_valid_and_means_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    monkeypatch.setenv("CELERY_BROKER_URL", "")
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    # Empty values (AWS keys, buckets, broker) are "unset": offline mode, local storage.
    assert settings.aws_configured is False and settings.use_bedrock is False
    assert settings.dataset_s3_bucket is None and settings.celery_broker_url is None
    assert settings.model_dump() == defaults.model_dump()

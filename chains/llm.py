"""The Bedrock chat model (ChatBedrockConverse) with bounded retries and timeouts, or none."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from settings import Settings


def build_bedrock_client(settings: Settings) -> Any:
    """A bedrock-runtime boto3 client with the retry and timeout budget from the settings."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": settings.bedrock_max_attempts, "mode": "standard"},
        connect_timeout=min(10.0, settings.bedrock_timeout_seconds),
        read_timeout=settings.bedrock_timeout_seconds,
    )
    return boto3.client(
        "bedrock-runtime", config=config, **settings.boto3_client_kwargs("bedrock-runtime")
    )  # type: ignore[call-overload]


def build_llm(settings: Settings, *, client: Any | None = None) -> BaseChatModel | None:
    """ChatBedrockConverse when Bedrock is enabled (or a client is given), else None (extractive mode)."""
    if client is None and not settings.use_bedrock:
        return None
    from langchain_aws import ChatBedrockConverse

    return ChatBedrockConverse(
        client=client if client is not None else build_bedrock_client(settings),
        model=settings.bedrock_model_id,
        region_name=settings.aws_default_region,
        temperature=settings.bedrock_temperature,
        max_tokens=settings.bedrock_max_tokens,
        disable_streaming=not settings.bedrock_streaming,
    )

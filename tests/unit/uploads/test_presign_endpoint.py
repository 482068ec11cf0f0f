"""Presigned POST URLs name the bucket's regional endpoint (browser uploads outside us-east-1)."""

from __future__ import annotations

import boto3
import pytest

from lambda_upload.app import S3_CLIENT_CONFIG


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-5"])
def test_presigned_post_url_is_the_regional_virtual_hosted_endpoint(region: str) -> None:
    # Given the upload Lambda's S3 client configuration in a region
    s3 = boto3.client(
        "s3",
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=S3_CLIENT_CONFIG,
    )
    # When it presigns a POST (a local computation: no request is sent)
    post = s3.generate_presigned_post("chatbot-dev-uploads", "uploads/u/1/a.png")
    # Then the browser posts to <bucket>.s3.<region>.amazonaws.com, never the global endpoint,
    # which redirects for new buckets (and the browser's CORS preflight cannot follow that)
    assert post["url"] == f"https://chatbot-dev-uploads.s3.{region}.amazonaws.com/"


def test_an_endpoint_override_keeps_path_style_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5000")
    s3 = boto3.client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=S3_CLIENT_CONFIG,
    )
    post = s3.generate_presigned_post("chatbot-dev-uploads", "k")
    assert post["url"] == "http://127.0.0.1:5000/chatbot-dev-uploads"

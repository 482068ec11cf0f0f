"""Presigned POST URLs name the bucket's regional endpoint (browser uploads outside us-east-1)."""

from __future__ import annotations

import pytest

from chatbot_common.aws_clients import AwsClients

CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-5"])
def test_presigned_post_url_is_the_regional_virtual_hosted_endpoint(region: str) -> None:
    # Given the S3 client both Lambdas use, in a region
    s3 = AwsClients(region, credentials=CREDENTIALS).s3
    # When it presigns a POST (a local computation: no request is sent)
    post = s3.generate_presigned_post("chatbot-dev-uploads", "uploads/u/1/a.png")
    # Then the browser posts to <bucket>.s3.<region>.amazonaws.com, never the global endpoint,
    # which redirects for new buckets (and the browser's CORS preflight cannot follow that)
    assert post["url"] == f"https://chatbot-dev-uploads.s3.{region}.amazonaws.com/"


def test_an_endpoint_override_keeps_path_style_urls() -> None:
    s3 = AwsClients("eu-west-1", endpoint_urls={"s3": "http://127.0.0.1:5000"}, credentials=CREDENTIALS).s3
    post = s3.generate_presigned_post("chatbot-dev-uploads", "k")
    assert post["url"] == "http://127.0.0.1:5000/chatbot-dev-uploads"

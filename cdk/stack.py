"""The one stack: storage, auth, API, functions, web hosting and monitoring, wired together."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Stack, Tags
from constructs import Construct

from cdk import constants as c
from cdk.api import Api
from cdk.auth import Auth, auth_domain_name
from cdk.bundling import LAMBDA_TARGET, BundleTarget
from cdk.config import ChatbotConfig
from cdk.functions import Functions
from cdk.monitoring import Monitoring
from cdk.storage import Storage, uploads_bucket_name
from cdk.web_hosting import WebHosting


class ChatbotStack(Stack):
    """Everything one stage of the chatbot needs; nothing always-on that bills while idle."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ChatbotConfig,
        skip_bundling: bool = False,
        bundle_target: BundleTarget = LAMBDA_TARGET,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", "bedrock-chatbot")
        Tags.of(self).add("stage", config.stage)

        self.storage = Storage(self, c.STORAGE_ID, config=config)
        # The API and the distribution come first: the web origin (CloudFront's URL) feeds the
        # Cognito callback, the bucket CORS rule and the functions' settings.
        self.api = Api(self, c.API_ID, config=config)
        self.web = WebHosting(
            self, c.WEB_HOSTING_ID, config=config, access_logs_bucket=self.storage.access_logs_bucket
        )
        distribution = self.web.add_distribution(
            rest_api=self.api.rest_api,
            auth_domain=auth_domain_name(config),
            uploads_bucket_name=uploads_bucket_name(config.stage),
        )
        cloudfront_origin = f"https://{distribution.distribution_domain_name}"
        # The origin users open (custom domain or another front) first; the CloudFront URL stays
        # valid for sign-in and uploads either way.
        self.web_origin = config.public_origin or cloudfront_origin
        web_origins = [self.web_origin, cloudfront_origin]
        self.storage.allow_browser_uploads(web_origins)

        self.auth = Auth(self, c.AUTH_ID, config=config, web_origins=web_origins)
        self.functions = Functions(
            self,
            c.FUNCTIONS_ID,
            config=config,
            storage=self.storage,
            web_origin=self.web_origin,
            skip_bundling=skip_bundling,
            bundle_target=bundle_target,
        )
        self.api.add_routes(functions=self.functions, user_pool=self.auth.user_pool)
        self.web.deploy_site(
            runtime_config={
                "apiBase": c.WEB_API_PREFIX,
                "localMode": False,
                "auth": {
                    "region": Aws.REGION,
                    "userPoolId": self.auth.user_pool.user_pool_id,
                    "clientId": self.auth.client.user_pool_client_id,
                    "domain": self.auth.domain_name,
                    "redirectUri": self.auth.redirect_uri,
                },
            }
        )
        self.monitoring = Monitoring(
            self,
            c.MONITORING_ID,
            config=config,
            rest_api=self.api.rest_api,
            functions=self.functions,
        )
        self.config = config
        self._outputs()

    def _outputs(self) -> None:
        outputs = {
            c.OUTPUT_WEB_URL: (self.web_origin, "Open this in a browser"),
            c.OUTPUT_API_URL: (self.api.rest_api.url, "API Gateway stage URL (needs an ID token)"),
            c.OUTPUT_USER_POOL_ID: (self.auth.user_pool.user_pool_id, "Cognito user pool"),
            c.OUTPUT_USER_POOL_CLIENT_ID: (self.auth.client.user_pool_client_id, "Cognito app client"),
            c.OUTPUT_AUTH_DOMAIN: (self.auth.domain_name, "Managed login host"),
            c.OUTPUT_TABLE_NAME: (self.storage.table.table_name, "DynamoDB table"),
            c.OUTPUT_UPLOADS_BUCKET: (self.storage.uploads_bucket.bucket_name, "Uploads bucket"),
            c.OUTPUT_ALARM_TOPIC: (self.monitoring.topic.topic_arn, "Subscribe to get alarms"),
            c.OUTPUT_DASHBOARD: (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard"),
            c.OUTPUT_CHAT_LOG_GROUP: (self.functions.chat.log_group.log_group_name, "Chat Lambda logs"),
            c.OUTPUT_API_ACCESS_LOG_GROUP: (self.api.access_logs.log_group_name, "API access log (JSON)"),
            c.OUTPUT_UPLOAD_LOG_GROUP: (
                self.functions.upload.log_group.log_group_name,
                "Upload Lambda logs",
            ),
        }
        for key, (value, description) in outputs.items():
            CfnOutput(self, key, value=value, description=description)

"""Auth: Cognito user pool, a public app client (authorization code + PKCE) and managed login."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from cdk.config import ChatbotConfig
from cdk.constants import USER_POOL_CLIENT_ID, USER_POOL_ID
from cdk.nag import acknowledge

_MFA = {
    "off": cognito.Mfa.OFF,
    "optional": cognito.Mfa.OPTIONAL,
    "required": cognito.Mfa.REQUIRED,
}


def auth_domain_prefix(config: ChatbotConfig) -> str:
    """Managed login domain prefix; unique per region across accounts thanks to the account id."""
    return f"{config.auth_domain_prefix}-{config.stage}-{Aws.ACCOUNT_ID}"


def auth_domain_name(config: ChatbotConfig) -> str:
    """Host name of the managed login pages (known before the user pool exists)."""
    return f"{auth_domain_prefix(config)}.auth.{Aws.REGION}.amazoncognito.com"


class Auth(Construct):
    """Who may call the API. The browser signs in through managed login; the CLI/curl use tokens."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: ChatbotConfig, web_origins: list[str]
    ) -> None:
        """``web_origins``: where the web client is served, first the one users open. Each is a
        sign-in callback, so the CloudFront URL keeps working next to a custom domain."""
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            USER_POOL_ID,
            user_pool_name=f"chatbot-{config.stage}",
            self_sign_up_enabled=config.self_sign_up,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=_MFA[config.mfa],
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=config.retain_data,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        redirect_uris = [f"{origin}/" for origin in dict.fromkeys(web_origins)]
        self.redirect_uri = redirect_uris[0]
        self.client = self.user_pool.add_client(
            USER_POOL_CLIENT_ID,
            user_pool_client_name=f"chatbot-{config.stage}-web",
            # A browser cannot keep a secret: public client, authorization code + PKCE.
            generate_secret=False,
            auth_flows=cognito.AuthFlow(
                user_srp=True,
                # Usable only with IAM credentials (AdminInitiateAuth): how an operator gets a
                # token for curl without a browser. Not reachable by anonymous callers.
                admin_user_password=True,
            ),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=redirect_uris,
                logout_urls=redirect_uris,
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
            enable_token_revocation=True,
        )
        self.domain = self.user_pool.add_domain(
            "ManagedLogin",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=auth_domain_prefix(config)),
            managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
        )
        # Managed login v2 shows its pages only for clients that have a branding style.
        branding = cognito.CfnManagedLoginBranding(
            self,
            "ManagedLoginBranding",
            user_pool_id=self.user_pool.user_pool_id,
            client_id=self.client.user_pool_client_id,
            use_cognito_provided_values=True,
        )
        branding.node.add_dependency(self.domain)
        self.domain_name = auth_domain_name(config)
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            f"MFA is '{config.mfa}' (TOTP) and set per deployment in cdk.json (mfa: required "
            "enforces it); sign-up is admin-only unless selfSignUp is turned on.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan bills per monthly active user for threat protection; the Essentials "
            "plan with a strict password policy and admin-created users fits a team chatbot.",
        )

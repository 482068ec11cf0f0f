"""Monitoring: one dashboard and the alarms that page someone (via an SNS topic)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk.config import ChatbotConfig
from cdk.constants import (
    CHAT_SERVICE_NAME,
    METRIC_INPUT_TOKENS,
    METRIC_MODEL_LATENCY,
    METRIC_MODEL_THROTTLES,
    METRIC_OUTPUT_TOKENS,
    METRICS_NAMESPACE,
)
from cdk.functions import Functions

PERIOD = Duration.minutes(5)


def _model_metric(metric_name: str, statistic: str, label: str) -> cloudwatch.MathExpression:
    """One line per model: the chat Lambda emits with a ``model`` dimension (and Powertools' ``service``)."""
    return cloudwatch.MathExpression(
        expression=(
            f'SEARCH(\'Namespace="{METRICS_NAMESPACE}" MetricName="{metric_name}"\', '
            f"'{statistic}', {int(PERIOD.to_seconds())})"
        ),
        label=label,
        period=PERIOD,
        using_metrics={},
    )


def _alarm(
    scope: Construct,
    construct_id: str,
    metric: cloudwatch.Metric | cloudwatch.MathExpression,
    *,
    threshold: float,
    description: str,
) -> cloudwatch.Alarm:
    """Every alarm fires on one period at or over its threshold; no data means nothing happened."""
    return metric.create_alarm(
        scope,
        construct_id,
        alarm_description=description,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


class Monitoring(Construct):
    """Requests, errors, latency, Lambda health and model tokens at a glance; alarms on what hurts."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ChatbotConfig,
        rest_api: apigateway.RestApi,
        functions: Functions,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name=f"chatbot {config.stage} alarms", enforce_ssl=True
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        action = cw_actions.SnsAction(self.topic)

        api_5xx = rest_api.metric_server_error(period=PERIOD, statistic="Sum")
        api_4xx = rest_api.metric_client_error(period=PERIOD, statistic="Sum")
        requests = rest_api.metric_count(period=PERIOD, statistic="Sum")
        lambdas = {"chat": functions.chat.function, "upload": functions.upload.function}

        self.alarms: list[cloudwatch.Alarm] = [
            _alarm(
                self,
                "Api5xxAlarm",
                api_5xx,
                threshold=5,
                description="API answered 5xx: a Lambda failed or timed out.",
            )
        ]
        for name, fn in lambdas.items():
            self.alarms.append(
                _alarm(
                    self,
                    f"{name.capitalize()}ThrottlesAlarm",
                    fn.metric_throttles(period=PERIOD, statistic="Sum"),
                    threshold=1,
                    description=f"The {name} Lambda was throttled (account concurrency).",
                )
            )
        # Bedrock throttling as counted by the chat Lambda (Powertools: namespace Chatbot, default
        # dimension service=chat, plus model). Alarms cannot use SEARCH, so the alarm sums the
        # series of each configured model and the model-less one (metric math allows 10).
        throttle_series = {
            f"m{index}": cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=METRIC_MODEL_THROTTLES,
                dimensions_map=dimensions,
                period=PERIOD,
                statistic="Sum",
            )
            for index, dimensions in enumerate(
                [{"service": CHAT_SERVICE_NAME}]
                + [{"service": CHAT_SERVICE_NAME, "model": model} for model in config.allowed_models[:9]]
            )
        }
        model_throttles = cloudwatch.MathExpression(
            expression=f"SUM([{', '.join(f'FILL({name}, 0)' for name in throttle_series)}])",
            using_metrics=dict(throttle_series),
            label=METRIC_MODEL_THROTTLES,
            period=PERIOD,
        )
        self.alarms.append(
            _alarm(
                self,
                "ModelThrottlesAlarm",
                model_throttles,
                threshold=5,
                description="Bedrock throttled model calls: raise the quota or slow down.",
            )
        )
        for alarm in self.alarms:
            alarm.add_alarm_action(action)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"chatbot-{config.stage}", default_interval=Duration.hours(6)
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="API requests", left=[requests], width=8),
            cloudwatch.GraphWidget(title="API errors", left=[api_4xx, api_5xx], width=8),
            cloudwatch.GraphWidget(
                title="API latency",
                left=[
                    rest_api.metric_latency(period=PERIOD, statistic="p50", label="p50"),
                    rest_api.metric_latency(period=PERIOD, statistic="p99", label="p99"),
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(period=PERIOD, statistic="Sum", label=n) for n, fn in lambdas.items()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration p99",
                left=[
                    fn.metric_duration(period=PERIOD, statistic="p99", label=n) for n, fn in lambdas.items()
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda throttles",
                left=[
                    fn.metric_throttles(period=PERIOD, statistic="Sum", label=n) for n, fn in lambdas.items()
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Model tokens (per model)",
                left=[
                    _model_metric(METRIC_INPUT_TOKENS, "Sum", "input"),
                    _model_metric(METRIC_OUTPUT_TOKENS, "Sum", "output"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Model latency p50 / throttles",
                left=[_model_metric(METRIC_MODEL_LATENCY, "p50", "latency p50")],
                right=[_model_metric(METRIC_MODEL_THROTTLES, "Sum", "throttles")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24),
        )

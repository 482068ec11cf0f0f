"""Adapters for AWS: DynamoDB (conversations, messages, call log), Bedrock (model, model list)."""

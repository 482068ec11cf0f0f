#!/bin/bash
# Startup command for the AWS Lambda Web Adapter (the function's handler). The adapter proxies
# each invocation to this server on 127.0.0.1:$AWS_LWA_PORT once /health answers.
# Bundled dependencies live at the bundle root ($LAMBDA_TASK_ROOT), next to the packages.
export PYTHONPATH="${LAMBDA_TASK_ROOT:-$(dirname "$0")}:${PYTHONPATH:-}"
exec python -m uvicorn --factory lambda_chat.app:serve_app \
    --host 127.0.0.1 --port "${AWS_LWA_PORT:-${PORT:-8080}}" \
    --no-access-log --timeout-keep-alive 75

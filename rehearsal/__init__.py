"""Deploy rehearsal: the synthesized template and the real Lambda bundles, run on 127.0.0.1.

``python -m rehearsal`` (``make rehearse``) synthesizes the stack with bundles built for this
machine by the deploy code path, starts each bundle with its own ``run.sh`` and exactly the
environment the template gives it (references resolved to a local moto and a local Bedrock
runtime), and puts a gateway in front that applies the template's API Gateway and CloudFront
rules. See docs/deploy.md ("Rehearse before you deploy") for what it covers and what only a real
AWS account can show.
"""

"""S3: the import bucket (spreadsheets in, rejected-row reports out) and the access-log bucket."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

UPLOADS_PREFIX = "uploads/"
REPORTS_PREFIX = "reports/"
# Spreadsheets hold CPFs, phones and debts (LGPD): once imported they are only needed for a re-run.
IMPORT_RETENTION = Duration.days(30)
ACCESS_LOG_RETENTION = Duration.days(365)


class Buckets(Construct):
    """`imports` (private, SSL-only, short-lived objects) and `access_logs` (S3 and ALB logs)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        upload_origins: Sequence[str],
        production: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY
        # The access-log destination logs nothing itself (its own writes would log forever); cdk-nag
        # recognises a log destination and does not ask for it.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # ALB access logs can only be delivered to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=ACCESS_LOG_RETENTION)],
            removal_policy=removal,
        )
        self.imports = s3.Bucket(
            self,
            "Imports",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="s3/imports/",
            lifecycle_rules=[
                s3.LifecycleRule(prefix=UPLOADS_PREFIX, expiration=IMPORT_RETENTION),
                s3.LifecycleRule(prefix=REPORTS_PREFIX, expiration=IMPORT_RETENTION),
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            # The dashboard uploads spreadsheets straight to S3 with a presigned PUT (Lambda payloads
            # are capped at 6 MB); the browser needs CORS for that, and only that.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT],
                    allowed_origins=list(upload_origins),
                    allowed_headers=["Content-Type", "Content-Length", "x-amz-*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
            removal_policy=removal,
        )

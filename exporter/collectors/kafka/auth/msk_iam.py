"""AWS MSK IAM authentication: an OAUTHBEARER token signed by the MSK IAM SASL signer.

`sasl_mechanism: AWS_MSK_IAM` sends, over SASL OAUTHBEARER, the token that AWS's
`aws-msk-iam-sasl-signer-python` builds: a SigV4-presigned `kafka-cluster:Connect` URL for
`sasl_aws_region`, valid 15 minutes, signed with the AWS default credential chain (environment,
shared files, web identity, container or instance role), with `sasl_aws_profile`'s credentials,
or with those of `sasl_aws_role_arn` assumed through STS. The signer is blocking (boto3), so it
runs in a worker thread; tokens are refreshed before they expire (`token_cache`).
"""

from __future__ import annotations

import asyncio
import time

from exporter.collectors.kafka.auth.token_cache import CachedTokenProvider, Token
from exporter.collectors.kafka.auth.token_cache import token_with_lifetime as _token
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.errors import CredentialsError

STS_SESSION_NAME = "kafka-health-exporter"


class MskIamTokenProvider(CachedTokenProvider):
    """Signed MSK IAM tokens for one region and identity."""

    mechanism = "AWS_MSK_IAM"

    def __init__(self, cfg: KafkaConfig) -> None:
        super().__init__(cfg.name)
        assert cfg.sasl_aws_region
        self.region = cfg.sasl_aws_region
        self.role_arn = cfg.sasl_aws_role_arn
        self.profile = cfg.sasl_aws_profile
        self._timeout = cfg.timeout

    def _where(self) -> str:
        if self.role_arn:
            who = f"role {self.role_arn}"
        elif self.profile:
            who = f"profile {self.profile}"
        else:
            who = "default credentials"
        return f"region {self.region}, {who}"

    def _sign(self) -> tuple[str, int]:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider as signer

        if self.role_arn:
            token, expiry_ms = signer.generate_auth_token_from_role_arn(
                self.region, self.role_arn, STS_SESSION_NAME
            )
        elif self.profile:
            token, expiry_ms = signer.generate_auth_token_from_profile(self.region, self.profile)
        else:
            token, expiry_ms = signer.generate_auth_token(self.region)
        return str(token), int(expiry_ms)

    async def fetch(self) -> Token:
        """Sign a new token in a worker thread."""
        try:
            token, expiry_ms = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(None, self._sign), self._timeout
            )
        except asyncio.TimeoutError as exc:
            raise self._error(f"signing took longer than {self._timeout:g}s (STS?)") from exc
        except Exception as exc:  # boto3 raises many kinds; each is described
            raise self._error(_reason(exc)) from exc
        return _token(token, expiry_ms / 1000, time.time())

    def _error(self, what: str) -> CredentialsError:
        return CredentialsError(f"SASL AWS_MSK_IAM: cannot sign a token ({self._where()}): {what}")


def _reason(exc: BaseException) -> str:
    """What went wrong signing, without credentials."""
    name = exc.__class__.__name__
    if isinstance(exc, AttributeError) and "access_key" in str(exc):
        # the signer reads `.access_key` of None when the default chain finds no credentials
        return "no AWS credentials found (environment, shared config, web identity or role)"
    if name == "NoCredentialsError" or "Credentials can not be empty" in str(exc):
        return "no AWS credentials found (environment, shared config, web identity or role)"
    if name == "ProfileNotFound":
        return str(exc)
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError: STS refused the role
        error = response.get("Error", {})
        return f"STS: {error.get('Code', name)}: {error.get('Message', '')}".rstrip(": ")
    return f"{name}: {exc}"

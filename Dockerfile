# syntax=docker/dockerfile:1
# kafka-health-exporter image.
#   docker build -t kafka-health-exporter .                      # with a JRE (the `jmx` collector)
#   docker build --build-arg WITH_JRE=false -t khe:slim .         # no JRE: kafka and aliyun_cms only
#   docker build --build-arg EXTRAS=kerberos,aws -t khe:auth .    # + SASL GSSAPI and AWS MSK IAM
#   docker build --build-arg EXTRAS=demo -t khe:demo .            # + the demo broker: `docker run -it khe:demo demo --listen 0.0.0.0:9876`
# Runs as a non-root numeric user and works with a read-only root filesystem (mount /tmp writable).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: install the package and its dependencies into a self-contained venv ----
FROM ${PYTHON_IMAGE} AS build
# Optional extras of the package: kerberos (sasl_mechanism GSSAPI, built against libkrb5-dev),
# aws (sasl_mechanism AWS_MSK_IAM, pulls in boto3). Empty: neither.
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN case ",$EXTRAS," in *,kerberos,*) \
      apt-get update \
      && apt-get install -y --no-install-recommends gcc libc6-dev libkrb5-dev \
      && rm -rf /var/lib/apt/lists/* ;; \
    esac
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN python -m pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}"

# ---- runtime: slim base, the venv, optionally a headless JRE for the jmx collector's bridge ----
FROM ${PYTHON_IMAGE} AS runtime
ARG WITH_JRE=true
ARG EXTRAS=""
RUN case ",$EXTRAS," in *,kerberos,*) \
      apt-get update \
      && apt-get install -y --no-install-recommends libgssapi-krb5-2 \
      && rm -rf /var/lib/apt/lists/* ;; \
    esac
RUN if [ "$WITH_JRE" = "true" ]; then \
      mkdir -p /usr/share/man/man1 \
      && apt-get update \
      && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /opt/venv /opt/venv
COPY config.example.yaml /etc/kafka-health-exporter/config.yaml
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp
USER 65532:65532
EXPOSE 9876
ENTRYPOINT ["kafka-health-exporter"]
CMD ["run", "-c", "/etc/kafka-health-exporter/config.yaml"]

# syntax=docker/dockerfile:1
# rfm-segmentation API image: `make docker`, or see docs/operations.md.
ARG BASE_IMAGE=python:3.12-slim

# --- dependencies and the package, in a virtual environment, from the lock ---
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/venv
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# the pipcert secret is a CA bundle for networks that need one (optional)
RUN --mount=type=secret,id=pipcert \
    if [ -f /run/secrets/pipcert ]; then export PIP_CERT=/run/secrets/pipcert; fi; \
    /opt/venv/bin/pip install -c constraints.txt .

# --- a model trained at build time on the generated default data ---
FROM build AS train
ENV KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
COPY conf ./conf
COPY .telemetry ./
# conf/local (secrets, overrides) is never copied in; Kedro wants it to exist
RUN mkdir -p conf/local data/01_raw data/02_intermediate data/03_primary data/04_feature \
        data/05_model_input data/06_models data/07_model_output data/08_reporting \
    && /opt/venv/bin/python -m rfm_segmentation.synthetic_data \
    && /opt/venv/bin/kedro run

# --- runtime: the venv, the project's config and the trained model, as non-root ---
FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KEDRO_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=1 \
    RFM_PROJECT_PATH=/app \
    RFM_HOST=0.0.0.0 \
    RFM_PORT=8000 \
    RFM_WORKERS=1
RUN useradd --create-home --uid 10001 rfm
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY pyproject.toml .telemetry ./
COPY conf ./conf
# Kedro looks for the source folder; the package itself is installed in the venv
RUN mkdir -p src data conf/local
# the releases stay root-owned: the API's user reads them and cannot rewrite a pickle
COPY --from=train /app/data/06_models ./data/06_models
USER rfm
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["python3", "-m", "rfm_segmentation.api"]

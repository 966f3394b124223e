# One image for the API, the workers and Flower; the command picks the role.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the pins or the
# dependency list change. Only the runtime dependencies of pyproject.toml are
# installed, at the versions pinned in constraints.txt; its extras are left out:
# `dev` (moto's server, mypy, pytest...) and `standalone` (the embedded broker,
# fakeredis, which a deployment with a real Redis never uses).
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt -c constraints.txt

COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY worker ./worker
COPY migrations ./migrations
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 tasador \
    && mkdir -p /data && chown tasador /data

USER tasador
ENV TASADOR_DATA_DIR=/data \
    TASADOR_ENV=production
EXPOSE 8000 5555

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3).status == 200 else 1)"

CMD ["tasador", "serve", "--host", "0.0.0.0", "--port", "8000"]

# 3 Musketeers: the same Make verbs in a container, e.g.
#   docker compose run --rm tools make deploy ENV=dev
# Credentials come from the caller's environment at run time (compose.yaml); none are
# baked into the image.
# Python 3.11: the version requirements/*.lock are resolved for.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends make openssl git \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Install through the very Make target developers use, into a venv outside the mount.
ENV VENV=/opt/venv
COPY Makefile setup.cfg pyproject.toml README.md ./
COPY requirements/ requirements/
COPY generator/ generator/
RUN make install VENV=/opt/venv

CMD ["make", "help"]

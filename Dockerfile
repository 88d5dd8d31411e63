# One image for the three programs of the project: the operator (default), the REST gateway
# (`condatask-gateway`) and the task pods' runner (`condatask-runner`). The Helm chart sets
# the command of each Deployment; the operator sets it in the pods it emits.
FROM python:3.11-slim

# git: the runner checks out repositories and the operator fetches their remotes;
# openssh-client: for ssh:// and user@host:path repositories.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git openssh-client \
    && rm -rf /var/lib/apt/lists/*

# Task pods run as uid 1000 (runAsNonRoot), and so do the chart's Deployments.
RUN groupadd --gid 1000 condatask \
    && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin condatask

WORKDIR /src
COPY pyproject.toml ./
COPY core ./core
COPY operator ./operator
COPY api ./api
COPY runner ./runner
# The runtime dependencies only: no dev extra, no pip cache in the layer.
RUN pip install --no-cache-dir . \
    && rm -rf /src

WORKDIR /home/condatask
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 1000:1000

CMD ["condatask-operator"]

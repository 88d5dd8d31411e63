"""Development tooling: the test control plane, a local Git server and a local conda channel."""

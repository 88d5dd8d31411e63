"""The REST gateway: the old Conda Task Manager's Git API on top of GitTask resources.

It holds no state of its own. Each call becomes a create, a label-selected read or an
annotation patch of a GitTask, made with the caller's own Kubernetes credentials, and the
answer is read back from the status the operator writes.
"""

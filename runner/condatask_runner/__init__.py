"""The task runner: the steps of a task's pod (checkout, environment, run) as one command."""

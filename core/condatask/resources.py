"""Identity of the project's API: group, versions, kinds, and the label and annotation keys.

Everything that names a resource, a label or an annotation is spelled here once, so the
operator, the gateway and the chart cannot drift apart.
"""

from typing import Final

GROUP: Final = "condatask.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

GITTASK_KIND: Final = "GitTask"
GITTASK_PLURAL: Final = "gittasks"
GITTASK_SINGULAR: Final = "gittask"
GITTASK_SHORT_NAMES: Final = ("gt",)

CONDAENV_KIND: Final = "CondaEnvironment"
CONDAENV_PLURAL: Final = "condaenvironments"
CONDAENV_SINGULAR: Final = "condaenvironment"
CONDAENV_SHORT_NAMES: Final = ("cenv",)

# Labels: the task id is a label so that the gateway can find a task by id with one
# label-selected list, whatever the object's name is.
LABEL_TASK_ID: Final = f"{GROUP}/task-id"
LABEL_TASK_NAME: Final = f"{GROUP}/task"
LABEL_ENVIRONMENT: Final = f"{GROUP}/environment"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "condatask-operator"

# Annotations a user (or the gateway) sets to ask for an update to the remote head, in
# the manner of Flux's `reconcile.fluxcd.io/requestedAt`: any new value is a new request.
ANNOTATION_UPDATE_REQUESTED: Final = f"{GROUP}/update-requested-at"
ANNOTATION_UPDATE_ENVIRONMENT: Final = f"{GROUP}/update-environment"
# Set by the operator itself to reconcile a task again (its poll, a deleted CronJob).
ANNOTATION_RETRY_REQUESTED: Final = f"{GROUP}/retry-requested-at"

# A Secret serves as git credentials only when its owner names the hosts it may be sent to:
# without it, anyone allowed to edit GitTasks could send any Secret of the namespace to a
# host of their choosing, or mount it into a pod that runs their code.
ANNOTATION_GIT_HOSTS: Final = f"{GROUP}/git-hosts"

# The ConfigMap that holds the next task id of a namespace.
TASK_ID_CONFIGMAP: Final = "condatask-task-ids"
TASK_ID_KEY: Final = "next"
